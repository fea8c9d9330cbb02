# mmseg's UNet (unet-s5-d16 + FCN head + auxiliary FCN head), trained from
# scratch on the ground-truth masks as mmseg's UNet configs train it (SGD
# lr 0.01, momentum 0.9, weight decay 5e-4, poly schedule, cross-entropy,
# auxiliary loss 0.4; model from mmseg's _base_/models/fcn_unet_s5-d16.py).
# Changes for 2 CPU cores, and why:
# - BN instead of SyncBN (SyncBN needs a distributed GPU run);
# - base width 16 instead of 64 (0.44 instead of 4.0 CPU-s per iteration of
#   batch 16 with one thread);
# - whole-image test instead of sliding 256x256 windows (the images are
#   64x64);
# - 3000 iterations of batch 16 instead of 40k of 4x4 (~22 minutes).
# Data as the other table rows: the 400 Flowers-17 train.txt images with a
# mask, 64x64, best checkpoint on val mIoU, scored on test.txt at 64x64.
_base_ = [
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    '../_base_/datasets/flowers17_64x64.py',
    '../_base_/schedules/supervised_cpu.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
base_channels = 16
model = dict(
    # UNet downsamples 4 times: photos given to inference_model are padded
    # to a multiple of 16 (the padding is cropped from the prediction).
    data_preprocessor=dict(size_divisor=16, test_cfg=dict(size_divisor=16)),
    backbone=dict(base_channels=base_channels, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=base_channels, channels=base_channels,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(
        in_channels=2 * base_channels, channels=base_channels,
        norm_cfg=norm_cfg),
    test_cfg=dict(_delete_=True, mode='whole'))
train_dataloader = dict(
    dataset=dict(
        ann_file='{{fileDirname}}/../../benchmarks/splits/'
        'flowers17_train_masked.txt',
        require_masks=True,
        pipeline={{_base_.labelled_train_pipeline}}))
# mmseg's schedule_40k, shortened.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=3000,
         by_epoch=False)
]
train_cfg = dict(max_iters=3000)
