# ReDO on your own photos (one folder, no masks anywhere) with the
# reference's networks at 128x128 (those of redo_flowers17.py), for a GPU
# (redo_image_folder_cpu.py is its CPU twin). Set the folder with one
# option, as redo_image_folder_cpu.py describes:
#     python tools/train.py configs/redo/redo_image_folder.py \
#         --cfg-options data_root=path/to/photos
_base_ = [
    '../_base_/models/redo.py', '../_base_/datasets/image_folder.py',
    '../_base_/schedules/redo_40k.py', '../_base_/default_runtime.py'
]
# 20 images to redraw + 20 real images for the discriminator.
train_dataloader = dict(batch_size=40)
# No test split: the photos have no masks to score.
test_cfg = None
# The best checkpoint by the label-free score of the held-out photos
# (LabelFreeMaskScore, from mmseg_redo/evaluation/label_free_metric.py).
default_hooks = dict(checkpoint=dict(save_best='label_free_score'))
