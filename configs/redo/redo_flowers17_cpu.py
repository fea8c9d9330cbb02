# ReDO on Flowers-17 sized for 2 CPU cores (the benchmark table's ReDO row):
# 64x64 images and the narrow networks of redo_toy.py, instead of
# redo_flowers17.py's reference networks at 128x128, which train at ~0.25
# it/s on CPU. Trained on train.txt images only (masks are never read for
# training), the best checkpoint chosen on val.txt mIoU, scored on test.txt
# at the 64x64 crop. See configs/redo/README.md for the time budget.
_base_ = [
    '../_base_/models/redo.py', '../_base_/datasets/flowers17_64x64.py',
    '../_base_/schedules/redo_40k.py', '../_base_/default_runtime.py'
]
z_dim = 16
model = dict(
    z_dim=z_dim,
    mask_net=dict(
        encoder=dict(channels=16, num_res_blocks=2),
        head=dict(in_channels=16, channels=16)),
    region_generators=dict(
        generator=dict(
            img_size=64, z_dim=z_dim, base_channels=4,
            self_attention=False)),
    discriminator=dict(
        base_channels=8, num_down_blocks=3, self_attention=False),
    z_encoder=dict(
        out_features=2 * z_dim, base_channels=8, num_down_blocks=3))
# 8 images to redraw + 8 real images for the discriminator.
train_dataloader = dict(batch_size=16)
# As redo_toy.py: at the reference's rates (1e-5 / 1e-4) the mask net forms
# no masks within a CPU budget.
optim_wrapper = dict(
    mask_net=dict(optimizer=dict(lr=1e-4)),
    region_generators=dict(optimizer=dict(lr=2e-4)),
    z_encoder=dict(optimizer=dict(lr=2e-4)),
    discriminator=dict(optimizer=dict(lr=2e-4)))
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
vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend')
]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
