# ReDO on your own photos (one folder, no masks anywhere), sized for 2 CPU
# cores: 64x64 images, the narrow networks and the small-data recipe of
# redo_flowers17_small_data_cpu.py (D's augmentation, area prior, mask
# consistency, EMA, flips, test-time guided filter), and, when photos are
# segmented (segment_folder.py, inference_model), GrabCut on the photo at
# 192 pixels seeded by ReDO's confident object pixels (below).
# Set the folder with one option; tools/train.py passes a top-level
# data_root on to the train and val dataloaders:
#     python tools/train.py configs/redo/redo_image_folder_cpu.py \
#         --cfg-options data_root=path/to/photos
# or, for a path with spaces or commas (which --cfg-options mangles),
#     python tools/train.py configs/redo/redo_image_folder_cpu.py \
#         --data-root "path/to/My Photos"
# The folder needs at least 20 photos; a held-out part of it (10%, 4 to
# 200 photos) validates, without labels (configs/_base_/datasets/
# image_folder.py).
_base_ = [
    '../_base_/models/redo_narrow_64x64_small_data.py',
    '../_base_/datasets/image_folder_64x64.py',
    '../_base_/schedules/redo_cpu_small_data.py',
    '../_base_/default_runtime.py'
]
# The recipe's flips of the training photos, before packing.
train_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='RandomFlip', prob=0.5),
    _base_.train_pipeline[-1],
]
# Photos: the test-time GrabCut works on the photo at shorter side 192,
# kept before the resize to the network's 64 (mmseg's PackSegInputs meta
# keys, plus the kept photo). Training's validation crops keep no photo, so
# the label-free choices are ReDO's own. Why 192 and the seeds:
# configs/redo/README.md#masks-at-the-photos-size. ReDO's masks alone:
# --cfg-options model.test_cfg.grabcut=None.
test_pipeline = [
    _base_.test_pipeline[0],
    dict(type='KeepPhoto', shorter_side=192),
    *_base_.test_pipeline[1:-1],
    dict(
        type='PackSegInputs',
        meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                   'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                   'reduce_zero_label', 'photo_img')),
]
model = dict(
    test_cfg=dict(
        grabcut=dict(margin=0.1, iterations=5, seed=0, seed_threshold=0.9)))
# 8 images to redraw + 8 real images for the discriminator.
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
train_cfg = dict(max_iters=4000, val_interval=250)
# No test split: the photos have no masks to score.
test_cfg = None
# The best checkpoint by the label-free score of the held-out photos
# (LabelFreeMaskScore, from mmseg_redo/evaluation/label_free_metric.py).
# The redraw grid of 4 held-out photos every 250 iterations, into
# <work_dir>/redraws/ and TensorBoard.
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=250, save_best='label_free_score'),
    redraw=dict(
        type='RedrawVisualizationHook',
        interval=250,
        num_images=4,
        num_redraws=3))
# TensorBoard beside the default runtime's local backend (the visualizer
# took the base's list when the base was read, so it is given the new one).
vis_backends = [*_base_.vis_backends, dict(type='TensorboardVisBackend')]
visualizer = dict(vis_backends=vis_backends)
