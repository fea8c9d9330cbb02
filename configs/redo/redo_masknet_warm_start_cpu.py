# Warm start of ReDO's mask net (issue 26, probe (a)): the mask net of
# redo_image_folder_cpu.py (ReDOMaskEncoder + ReDOPSPHead, 16 channels,
# 64x64, ReDO's [-1, 1] input range) as an ordinary mmseg EncoderDecoder
# (configs/_base_/models/redo_masknet_64x64.py), trained on a folder's
# pseudo-labels (tools/make_pseudo_labels.py --folder: 0 = background,
# 1 = object, 255 = ignore), e.g. box GrabCut's.
# ReDO then starts its mask net from the result and trains as usual:
#   python tools/train.py configs/redo/redo_masknet_warm_start_cpu.py \
#       --data-root PHOTOS --work-dir W0 --cfg-options \
#       train_dataloader.dataset.seg_map_dir=LABELS \
#       val_dataloader.dataset.seg_map_dir=LABELS
#   python tools/train.py configs/redo/redo_image_folder_cpu.py \
#       --data-root PHOTOS --cfg-options model.mask_net_init=W0/iter_2000.pth
# The held-out photos of the folder are scored against the same
# pseudo-labels (agreement with the teacher); the last checkpoint is kept.
# 2000 iterations of batch 16 at 64x64 with AdamW (about 4 minutes on 2
# cores).
_base_ = [
    '../_base_/models/redo_masknet_64x64.py',
    '../_base_/datasets/image_folder_pseudo_labels.py',
    '../_base_/schedules/supervised_cpu.py'
]
img_size = 64
# ReDO's training view of each photo (shorter side to 64, centre crop,
# flips as ReDO's recipe flips its photos), with its pseudo-label.
# After _base_, so mmengine still reads this file as a _base_ config.
from mmseg_redo.utils.config import pipeline_at_size  # noqa: E402

train_dataloader = dict(
    dataset=dict(
        pipeline=pipeline_at_size(_base_.train_dataloader.dataset.pipeline,
                                  img_size)))
val_dataloader = dict(
    dataset=dict(
        pipeline=pipeline_at_size(_base_.val_dataloader.dataset.pipeline,
                                  img_size)))
test_pipeline = pipeline_at_size(_base_.test_pipeline, img_size)
test_cfg = None
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=2000,
         by_epoch=False)
]
train_cfg = dict(max_iters=2000, val_interval=500)
default_hooks = dict(
    checkpoint=dict(interval=500, save_best=None, max_keep_ckpts=1))
