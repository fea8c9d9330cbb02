# GrabCut from a centred box, as grabcut_flowers17-128x128.py, at 64x64: the
# images and crop of the CPU-trained rows of the table.
# GrabCutSegmentor lives in mmseg_redo (imported by the runtime base's
# custom_imports) and has no weights: score it with
# `python tools/test.py THIS_CONFIG` (no checkpoint) or
# python -m benchmarks.results, segment photos with tools/segment_folder.py or
# mmseg's init_model(THIS_CONFIG, None).
_base_ = [
    '../_base_/models/grabcut_box.py', '../_base_/datasets/flowers17_64x64.py',
    '../_base_/default_runtime.py'
]
train_dataloader = None
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
