# Train on your own photos: every .jpg/.jpeg/.png/.bmp under data_root,
# searched recursively, no masks. Needs
# custom_imports=dict(imports=['mmseg_redo']) in the top-level config.
#
# There is nothing to score, so there is no validation or test: the
# dataloaders and evaluators below are None, and the top-level config must
# also set
#     val_cfg = None
#     test_cfg = None
# (mmengine's Runner wants each of val_dataloader/val_cfg/val_evaluator to
# be all None or all set) and must not ask CheckpointHook for save_best.
dataset_type = 'ImageFolderDataset'
data_root = 'data/my_photos'
img_size = 128
# Decoded, resized crops kept in memory (per data-loader worker, up to
# 1 GiB each): photos seen before are not decoded again.
train_pipeline = [
    dict(
        type='CachedCompose',
        transforms=[
            # User photos have no masks to keep aligned, so EXIF rotation is
            # applied and photos taken upright are learnt upright.
            dict(type='LoadImageFromFileChecked', color_type='color'),
            dict(type='ResizeShorterSide', size=img_size),
            dict(type='CenterCrop', crop_size=img_size),
        ]),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=20,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = None
test_dataloader = None
val_evaluator = None
test_evaluator = None
