# The demo: ReDO on the built-in synthetic data (64x64, made in code), with
# narrow networks so that it trains on 2 CPU cores in minutes.
_base_ = [
    '../_base_/models/redo.py', '../_base_/datasets/synthetic.py',
    '../_base_/schedules/redo_40k.py', '../_base_/default_runtime.py'
]
z_dim = 16
model = dict(
    z_dim=z_dim,
    # CPU: NHWC layout only (autocast and compile are GPU settings).
    fast_path=dict(_delete_=True, channels_last=True),
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
# Flat-coloured objects on scene-wide backgrounds (a colour ramp crossed by
# a wave): every part of the background predicts the rest, as in photos, so
# only the object can be redrawn on its own. Colours of both come from one
# distribution (no global colour threshold finds the object).
_style = dict(fine_pattern=False, noise_std=0.0, background='coherent')
# 8 images to redraw + 8 real images for the discriminator.
train_dataloader = dict(batch_size=16, dataset=dict(style=_style))
val_dataloader = dict(dataset=dict(style=_style))
test_dataloader = dict(dataset=dict(style=_style))
# Faster than the reference (mask net 1e-5, others 1e-4): on this budget
# the reference's rates form no masks.
optim_wrapper = dict(
    mask_net=dict(optimizer=dict(lr=1e-4)),
    region_generators=dict(optimizer=dict(lr=2e-4)),
    z_encoder=dict(optimizer=dict(lr=2e-4)),
    discriminator=dict(optimizer=dict(lr=2e-4)))
# About 7 it/s on 2 idle CPU cores (tools/analysis_tools/benchmark_train.py):
# 5000 iterations and 10 validations fit in 15 minutes.
train_cfg = dict(max_iters=5000, val_interval=500)
default_hooks = dict(
    logger=dict(interval=100),
    # Redraw grids of fixed validation images, to watch the masks form:
    # <work_dir>/redraws/iter_*.png (and TensorBoard with its vis backend).
    redraw=dict(type='RedrawVisualizationHook', interval=500))
