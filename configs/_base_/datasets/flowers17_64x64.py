# Oxford Flowers-17 at 64x64, for the table rows that train on 2 CPU cores
# (ReDO, the supervised baselines, the refinement): ReDO's preprocessing
# (shorter side to 64 with nearest-neighbour, centre crop 64x64), scores at
# the 64x64 crop. Same split as flowers17.py: train on train.txt, select on
# val.txt, score on test.txt.
_base_ = ['./flowers17.py']
data_root = '../shared/data/flowers17'
img_size = 64
# Label-free training (ReDO): the images only, decoded and resized once
# per data-loader worker and kept in memory.
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
# Training with labels (supervised baselines, pseudo-labels): the mask is
# resized and cropped with the image; flips as mmseg's configs do.
labelled_train_pipeline = [
    dict(
        type='CachedCompose',
        transforms=[
            dict(type='LoadImageFromFileChecked'),
            dict(type='LoadObjectMask'),
            dict(type='ResizeShorterSide', size=img_size),
            dict(type='CenterCrop', crop_size=img_size),
        ]),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
# Scoring (val and test dataloaders): as flowers17.py, at img_size.
eval_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadObjectMask'),
    dict(type='ResizeShorterSide', size=img_size),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='ResetOriShape'),
    dict(type='PackSegInputs'),
]
# Photos (mmseg's inference_model reads the top-level test_pipeline, and
# MMSegInferencer can be pointed at it, see configs/redo/README.md): resized
# like the training images but not cropped, so the prediction covers the
# whole photo and comes back at the photo's own size. mmcv's stock loader
# (decoding as LoadImageFromFileChecked does) because inference_model and
# MMSegInferencer look for it by name. The test-time guided filter
# (model.test_cfg.guided_filter) is guided by the network's input,
# upsampled: see KeepGuideImage for why not by the photo.
test_pipeline = [
    dict(
        type='LoadImageFromFile',
        imdecode_backend='pillow',
        color_type='color_ignore_orientation'),
    dict(type='ResizeShorterSide', size=img_size),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=20,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=eval_pipeline))
test_dataloader = dict(
    batch_size=20,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=eval_pipeline))
