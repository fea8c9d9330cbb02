# The label-free pipeline's student, 128x128, for 2 CPU cores: a supervised
# mmseg segmenter (ReDO's mask-network architecture, wider) trained on a
# teacher's pseudo-labels of every photo of a folder, written by
#     python tools/make_pseudo_labels.py TEACHER_CONFIG TEACHER_CKPT \
#         --folder PHOTOS --out LABELS [--min-confidence C] [--agree-with D]
# then trained by
#     python tools/train.py configs/redo/student_image_folder_cpu.py \
#         --data-root PHOTOS \
#         --cfg-options train_dataloader.dataset.seg_map_dir=LABELS
# Pixels labelled 255 (unsure, or where two teachers disagree) are ignored.
# Nothing is held out: the labels are the teacher's, not the truth, so a
# validation split would only score agreement with the teacher; the last
# checkpoint is kept. At test time the guided filter refits the mask to the
# photo, as ReDO's.
_base_ = [
    '../_base_/datasets/image_folder.py',
    '../_base_/schedules/supervised_cpu.py'
]
train_pipeline = [
    dict(
        type='CachedCompose',
        transforms=[
            dict(type='LoadImageFromFileChecked', color_type='color'),
            dict(type='LoadObjectMask'),
            dict(type='ResizeShorterSide', size={{_base_.img_size}}),
            dict(type='CenterCrop', crop_size={{_base_.img_size}}),
        ]),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=16,
    dataset=dict(split='all', seg_map_dir=None, pipeline=train_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_cfg = None
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True,
    size_divisor=1,
    pad_val=0,
    seg_pad_val=255)
width = 32
model = dict(
    type='FilteredEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='ReDOMaskEncoder', channels=width, num_res_blocks=3),
    decode_head=dict(
        type='ReDOPSPHead',
        in_channels=width,
        channels=width,
        pool_scales=(1, 2, 3, 6),
        num_classes=2,
        out_channels=2,
        dropout_ratio=0.0,
        norm_cfg=dict(type='GN', num_groups=8),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),
    train_cfg=dict(),
    # The teacher's filter, in pixels of the 128x128 input (radius 32 of
    # 64 for the 64x64 ReDO: half the side).
    test_cfg=dict(
        mode='whole',
        guided_filter=dict(radius=64, eps=1e-4, guide_channels='rgb')))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
max_iters = 2000
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters + 1)
default_hooks = dict(
    checkpoint=dict(interval=500, save_best=None, max_keep_ckpts=1))
