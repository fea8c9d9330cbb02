# Your own photos at 64x64, for training on CPU: image_folder.py (splits,
# broken files, label-free validation, data_root) with every pipeline at
# img_size = 64. mmengine substitutes img_size when it reads a file, so
# the pipelines and the dataloaders that hold them are repeated here.
_base_ = ['./image_folder.py']
img_size = 64
train_pipeline = [
    dict(
        type='CachedCompose',
        transforms=[
            dict(type='LoadImageFromFileChecked', color_type='color'),
            dict(type='ResizeShorterSide', size=img_size),
            dict(type='CenterCrop', crop_size=img_size),
        ]),
    dict(type='PackSegInputs'),
]
eval_pipeline = [
    dict(
        type='CachedCompose',
        transforms=[
            dict(type='LoadImageFromFileChecked', color_type='color'),
            dict(type='ResizeShorterSide', size=img_size),
            dict(type='CenterCrop', crop_size=img_size),
            dict(type='ResetOriShape'),
        ]),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='ResizeShorterSide', size=img_size),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=eval_pipeline))
