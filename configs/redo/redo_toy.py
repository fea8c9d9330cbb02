# The demo: ReDO on the built-in synthetic data (64x64, made in code), with
# narrow networks so that it trains on 2 CPU cores in minutes.
_base_ = [
    '../_base_/models/redo_narrow_64x64.py', '../_base_/datasets/synthetic.py',
    '../_base_/schedules/redo_cpu.py', '../_base_/default_runtime.py'
]
# CPU: NHWC layout only (autocast and compile are GPU settings).
model = dict(fast_path=dict(_delete_=True, channels_last=True))
# Flat-coloured objects on scene-wide backgrounds (a colour ramp crossed by
# a wave): every part of the background predicts the rest, as in photos, so
# only the object can be redrawn on its own. Colours of both come from one
# distribution (no global colour threshold finds the object).
_style = dict(fine_pattern=False, noise_std=0.0, background='coherent')
# 8 images to redraw + 8 real images for the discriminator.
train_dataloader = dict(batch_size=16, dataset=dict(style=_style))
val_dataloader = dict(dataset=dict(style=_style))
test_dataloader = dict(dataset=dict(style=_style))
# About 7 it/s on 2 idle CPU cores (tools/analysis_tools/benchmark_train.py):
# 5000 iterations and 10 validations fit in 15 minutes.
train_cfg = dict(max_iters=5000, val_interval=500)
default_hooks = dict(
    logger=dict(interval=100),
    # Redraw grids of fixed validation images, to watch the masks form:
    # <work_dir>/redraws/iter_*.png (and TensorBoard with its vis backend).
    redraw=dict(type='RedrawVisualizationHook', interval=500))
