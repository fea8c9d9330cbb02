# Train on your own photos, 128x128: every image under data_root (searched
# recursively; .jpg .jpeg .png .bmp .webp .tif .tiff in any case; hidden
# files and folders skipped), no masks. Needs
# custom_imports=dict(imports=['mmseg_redo']) in the top-level config.
#
# Splits of the one folder (ImageFolderDataset): a fixed held-out part for
# validation (10% of the images, at least 4, at most 200: the files whose
# SHA-1 of the path inside the folder is smallest, so the same files on
# every run, and adding photos moves few), the rest for training; at least
# 20 photos. Unreadable files are skipped with one warning naming them
# (skip_broken=False refuses them instead).
#
# Validation has no masks: it is scored by a label-free metric of the
# predicted masks (LabelFreeMaskScore, mmseg_redo/evaluation/
# label_free_metric.py), and the object region is chosen without labels
# (MaskAssignmentHook's border rule). There is no test split (nothing to
# score), so the top-level config must set test_cfg = None (mmengine's
# Runner wants test_dataloader, test_cfg and test_evaluator all None or
# all set).
#
# Set the folder with one option, which tools/train.py passes on to both
# dataloaders: --cfg-options data_root=path/to/photos, or --data-root
# "path/to/My Photos" for a path with spaces or commas (--cfg-options
# drops spaces and splits at commas).
dataset_type = 'ImageFolderDataset'
data_root = 'data/my_photos'
img_size = 128
# Decoded, resized crops kept in memory (per data-loader worker, up to
# 1 GiB each): photos seen before are not decoded again. User photos have
# no masks to keep aligned, so EXIF rotation is applied (color_type
# 'color') and photos taken upright are learnt upright.
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
# Validation at the training crop (ResetOriShape: predictions stay at the
# crop), cached too: the held-out photos are read before every validation
# by MaskAssignmentHook and by the validation itself.
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
# Photos (mmseg's inference_model reads the top-level test_pipeline):
# resized like the training images but not cropped, so the prediction
# covers the whole photo and comes back at its own (EXIF-rotated) size.
# mmcv's stock loader, because inference_model looks for it by name.
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='ResizeShorterSide', size=img_size),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=20,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=20,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        pipeline=eval_pipeline))
val_evaluator = dict(type='LabelFreeMaskScore')
test_dataloader = None
test_evaluator = None
