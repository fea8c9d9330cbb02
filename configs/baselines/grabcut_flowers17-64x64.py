# GrabCut from a centred box, as grabcut_flowers17-128x128.py, at 64x64: the
# images and crop of the CPU-trained rows of the table.
# GrabCutSegmentor is defined in tools/grabcut_baseline.py: score this config
# with that tool or with tools/benchmark_table.py, which register it.
_base_ = [
    '../_base_/datasets/flowers17_64x64.py', '../_base_/default_runtime.py'
]
model = dict(
    type='GrabCutSegmentor',
    margin=0.1,
    iterations=5,
    seed=0,
    # GrabCut takes the loaders' BGR pixels as they are.
    data_preprocessor=dict(
        type='SegDataPreProcessor', bgr_to_rgb=False, size_divisor=1))
train_dataloader = None
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
