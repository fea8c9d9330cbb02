# Built-in synthetic demo data (SyntheticObjectsDataset): one textured object
# on a textured background, rendered in memory from a seed; nothing to
# download. Needs custom_imports=dict(imports=['mmseg_redo']) in the
# top-level config. Images are handed over in BGR like the file datasets,
# so the same SegDataPreProcessor(bgr_to_rgb=True) serves all datasets.
dataset_type = 'SyntheticObjectsDataset'
# Rendered size; small so that CPU training is possible.
img_size = 64
seed = 0
train_pipeline = [
    dict(type='LoadSyntheticSample'),
    dict(type='PackSegInputs'),
]
# The mask is rendered at the image size, so there is no resize or crop and
# ori_shape is already the evaluated shape.
eval_pipeline = [
    dict(type='LoadSyntheticSample', with_seg=True),
    dict(type='PackSegInputs'),
]
# Photos (mmseg's inference_model and MMSegInferencer read the top-level
# test_pipeline): a model trained here also segments image files, resized
# so that their shorter side is img_size, at their own size.
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
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        num_samples=2000,
        size=img_size,
        seed=seed,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=20,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        num_samples=200,
        size=img_size,
        seed=seed,
        split='val',
        pipeline=eval_pipeline))
test_dataloader = dict(
    batch_size=20,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        num_samples=500,
        size=img_size,
        seed=seed,
        split='test',
        pipeline=eval_pipeline))
val_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(type='ReDOMetric'),
]
test_evaluator = val_evaluator
