# The demo: ReDO on the built-in synthetic data (64x64, made in code), with
# narrow networks so that it trains on 2 CPU cores in minutes.
_base_ = [
    '../_base_/models/redo_narrow_64x64.py', '../_base_/datasets/synthetic.py',
    '../_base_/schedules/redo_cpu.py', '../_base_/default_runtime.py'
]
# CPU: NHWC layout only (autocast and compile are GPU settings). The
# discriminator step reuses the generator step's composites (detached)
# instead of recomputing them: a mask-net and a generator forward pass
# fewer per iteration, and no worse per iteration on this data
# (docs/benchmarks.md#demo-config-choices).
model = dict(
    fast_path=dict(_delete_=True, channels_last=True), reuse_composites=True)
# Flat-coloured objects on scene-wide backgrounds (a colour ramp crossed by
# a wave): every part of the background predicts the rest, as in photos, so
# only the object can be redrawn on its own. Vivid objects on muted,
# greyish scenes (palette='split', like the paper's coloured digits on
# grey): with distinct statistics each region generator specialises and
# the object is the same region in every image, where one colour
# distribution for both let it flip between images
# (docs/benchmarks.md#demo-config-choices).
_style = dict(
    fine_pattern=False, noise_std=0.0, background='coherent', palette='split')
# 8 images to redraw + 8 real images for the discriminator.
train_dataloader = dict(batch_size=16, dataset=dict(style=_style))
val_dataloader = dict(dataset=dict(style=_style))
test_dataloader = dict(dataset=dict(style=_style))
# The mask net learns 10x faster than in the CPU schedule (1e-3; the other
# networks keep 2e-4), so masks form early in the demo's minutes: chosen
# on val against 1e-4 and 3e-4 (docs/benchmarks.md#demo-config-choices).
optim_wrapper = dict(generator=dict(modules=dict(mask_net=dict(lr=1e-3))))
# 6000 iterations is the schedule; the 11-minute budget ends training
# earlier on a slower or busy machine (validating and saving first), so
# `make demo` ends within 15 minutes. A budget that cuts training much
# earlier costs accuracy (docs/benchmarks.md#demo-config-choices).
train_cfg = dict(max_iters=6000, val_interval=500)
default_hooks = dict(
    logger=dict(interval=100),
    time_budget=dict(minutes=11),
    # Redraw grids of fixed validation images, to watch the masks form:
    # <work_dir>/redraws/iter_*.png (and TensorBoard with its vis backend).
    redraw=dict(type='RedrawVisualizationHook', interval=500))
