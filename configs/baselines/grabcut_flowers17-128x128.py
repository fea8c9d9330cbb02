# GrabCut (OpenCV) from a centred box, 5 iterations: the label-free baseline
# of ../shared/data/flowers17/README.md (fg IoU 0.825 on test at 128x128).
# Nothing is trained. The box leaves 10% of each side out; OpenCV's RNG is
# seeded before every image (GrabCut's k-means start is random: the test
# IoU moves by about +-0.01 between seeds).
# GrabCutSegmentor lives in mmseg_redo (imported by the runtime base's
# custom_imports) and has no weights: score it with
# `python tools/test.py THIS_CONFIG` (no checkpoint) or
# python -m benchmarks.results, segment photos with tools/segment_folder.py or
# mmseg's init_model(THIS_CONFIG, None).
_base_ = [
    '../_base_/datasets/flowers17.py', '../_base_/default_runtime.py'
]
data_root = '../shared/data/flowers17'
model = dict(
    type='GrabCutSegmentor',
    margin=0.1,
    iterations=5,
    seed=0,
    # GrabCut takes the loaders' BGR pixels as they are.
    data_preprocessor=dict(
        type='SegDataPreProcessor', bgr_to_rgb=False, size_divisor=1))
train_dataloader = None
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
