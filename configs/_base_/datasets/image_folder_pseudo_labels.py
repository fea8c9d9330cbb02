# Your photos with a teacher's pseudo-labels, 128x128, for a segmentor
# trained on them (self-training): image_folder.py's splits of the folder,
# each photo's mask read from seg_map_dir (tools/make_pseudo_labels.py
# --folder: 0 = background, 1 = object, 255 = ignore), shorter side to
# img_size and centre crop, horizontal flips in training. The folder's
# fixed held-out 10% (ImageFolderDataset's val split) is scored against the
# same pseudo-labels (agreement with the teacher; no true mask anywhere).
# Set the labels with
#   --cfg-options train_dataloader.dataset.seg_map_dir=LABELS \
#       val_dataloader.dataset.seg_map_dir=LABELS
_base_ = ['./image_folder.py']
seg_map_dir = 'work_dirs/pseudo_labels'
img_size = 128
load_and_crop = [
    dict(type='LoadImageFromFileChecked', color_type='color'),
    dict(type='LoadObjectMask'),
    dict(type='ResizeShorterSide', size=img_size),
    dict(type='CenterCrop', crop_size=img_size),
]
train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        seg_map_dir=seg_map_dir,
        pipeline=[
            dict(type='CachedCompose', transforms=load_and_crop),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackSegInputs'),
        ]))
# Scored at the crop (ResetOriShape), against the pseudo-labels.
val_dataloader = dict(
    dataset=dict(
        seg_map_dir=seg_map_dir,
        pipeline=[
            dict(
                type='CachedCompose',
                transforms=load_and_crop + [dict(type='ResetOriShape')]),
            dict(type='PackSegInputs'),
        ]))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
