# What every photo dataset of ReDO shares: the reference's preprocessing at
# 128x128, the dataloaders and the evaluators. A dataset config inherits
# this and fills in each dataloader's dataset type, data_root and split.
# ReDO's preprocessing: shorter side to img_size with nearest-neighbour
# (images and masks), centre crop img_size x img_size. mmengine writes
# img_size into the pipelines below when it reads this file: a child config
# that changes img_size derives its pipelines from these and hands them to
# the dataloaders (flowers17_64x64.py).
img_size = 128
# Decoded, resized crops kept in memory (per data-loader worker): from
# the second epoch on, no photo is decoded again.
train_pipeline = [
    dict(
        type='CachedCompose',
        transforms=[
            dict(type='LoadImageFromFileChecked'),
            dict(type='ResizeShorterSide', size=img_size),
            dict(type='CenterCrop', crop_size=img_size),
        ]),
    dict(type='PackSegInputs'),
]
# The mask is loaded before resizing so it is resized and cropped with the
# image, and ResetOriShape keeps predictions at the crop: scores are
# computed at the evaluation crop, as the reference does.
eval_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadObjectMask'),
    dict(type='ResizeShorterSide', size=img_size),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='ResetOriShape'),
    dict(type='PackSegInputs'),
]
# Photos (mmseg's inference_model and MMSegInferencer read the top-level
# test_pipeline): resized like the training images but not cropped, so the
# prediction covers the whole photo and comes back at its own size. mmcv's
# stock loader (decoding as LoadImageFromFileChecked does), because
# inference_model looks for it by name. A test-time guided filter
# (model.test_cfg.guided_filter) is guided by the network's input,
# upsampled: KeepGuideImage (guiding by the photo) is left out, see
# configs/redo/README.md#small-data-recipe.
test_pipeline = [
    dict(
        type='LoadImageFromFile',
        imdecode_backend='pillow',
        color_type='color_ignore_orientation'),
    dict(type='ResizeShorterSide', size=img_size),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=20,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=20,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(require_masks=True, pipeline=eval_pipeline))
# Test as validation; the dataset configs give each its own split.
test_dataloader = val_dataloader
# IoUMetric: dataset-level aAcc / mIoU (percent) with the model's fixed
# mask-to-class assignment. ReDOMetric: the reference's per-image
# best-of-2 scores, the fixed per-image scores and the dataset-level object
# IoU (fractions in [0, 1]).
val_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(type='ReDOMetric'),
]
test_evaluator = val_evaluator
