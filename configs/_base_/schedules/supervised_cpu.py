# Loops and hooks of the supervised baselines trained on 2 CPU cores
# (configs/baselines): validation every 250 iterations, the best checkpoint
# on val mIoU kept. A config adds its optimizer, schedule and max_iters.
_base_ = ['../default_runtime.py']
train_cfg = dict(type='IterBasedTrainLoop', val_interval=250)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=25, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # mmseg_redo's checkpoint hook: checkpoints load with weights_only.
    checkpoint=dict(
        type='SafeCheckpointHook',
        by_epoch=False,
        interval=250,
        max_keep_ckpts=2,
        save_best='mIoU',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# One network, one optimizer: mmengine's default DDP wrapper, not the one
# default_runtime.py sets for ReDO's four networks.
model_wrapper_cfg = None
