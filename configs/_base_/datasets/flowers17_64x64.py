# Oxford Flowers-17 at 64x64, for the table rows that train on 2 CPU cores
# (ReDO, the supervised baselines, the refinement): ReDO's preprocessing
# (shorter side to 64 with nearest-neighbour, centre crop 64x64), scores at
# the 64x64 crop. Same split as flowers17.py: train on train.txt, select on
# val.txt, score on test.txt.
_base_ = ['./flowers17.py']
data_root = '../shared/data/flowers17'
img_size = 64
# After _base_, so mmengine still reads this file as a _base_ config.
from mmseg_redo.utils.config import pipeline_at_size  # noqa: E402

# Label-free training (ReDO), scoring (val and test dataloaders) and photos
# (the top-level test_pipeline, see redo_photos_128.py): flowers17.py's.
train_pipeline = pipeline_at_size(_base_.train_pipeline, img_size)
eval_pipeline = pipeline_at_size(_base_.eval_pipeline, img_size)
test_pipeline = pipeline_at_size(_base_.test_pipeline, img_size)
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
