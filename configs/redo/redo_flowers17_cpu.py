# ReDO on Flowers-17 sized for 2 CPU cores (the benchmark table's ReDO row):
# 64x64 images and the narrow networks of redo_toy.py, instead of
# redo_flowers17.py's reference networks at 128x128, which train at ~0.25
# it/s on CPU. Trained on train.txt images only (masks are never read for
# training), the best checkpoint chosen on val.txt mIoU, scored on test.txt
# at the 64x64 crop. See configs/redo/README.md for the time budget.
_base_ = [
    '../_base_/models/redo_narrow_64x64.py',
    '../_base_/datasets/flowers17_64x64.py', '../_base_/schedules/redo_cpu.py',
    '../_base_/default_runtime.py'
]
# 8 images to redraw + 8 real images for the discriminator.
train_dataloader = dict(batch_size=16)
# 4000 iterations: ~0.25 CPU-s each (one thread, OMP_NUM_THREADS=1), so
# ~17 minutes of training plus ~16 validations: within 30 minutes on one
# core of a busy 2-core machine (see configs/redo/README.md).
train_cfg = dict(max_iters=4000, val_interval=250)
# The redraw grid of 4 validation images every 250 iterations, into
# <work_dir>/redraws/ and the visualizer's backends (TensorBoard included).
# A default hook (like mmseg's SegVisualizationHook), so the schedule's
# custom_hooks stay as they are.
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=250),
    redraw=dict(
        type='RedrawVisualizationHook',
        interval=250,
        num_images=4,
        num_redraws=3))
# TensorBoard beside the default runtime's local backend (the visualizer
# took the base's list when the base was read, so it is given the new one).
vis_backends = [*_base_.vis_backends, dict(type='TensorboardVisBackend')]
visualizer = dict(vis_backends=vis_backends)
