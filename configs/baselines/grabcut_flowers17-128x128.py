# GrabCut from a centred box (configs/_base_/models/grabcut_box.py), the
# label-free baseline of ../shared/data/flowers17/README.md (fg IoU 0.825 on
# test at 128x128).
# GrabCutSegmentor lives in mmseg_redo (imported by the runtime base's
# custom_imports) and has no weights: score it with
# `python tools/test.py THIS_CONFIG` (no checkpoint) or
# python -m benchmarks.results, segment photos with tools/segment_folder.py or
# mmseg's init_model(THIS_CONFIG, None).
_base_ = [
    '../_base_/models/grabcut_box.py', '../_base_/datasets/flowers17.py',
    '../_base_/default_runtime.py'
]
data_root = '../shared/data/flowers17'
train_dataloader = None
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
