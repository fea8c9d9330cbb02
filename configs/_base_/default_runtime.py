# Runtime shared by every mmseg_redo config (mmseg's default runtime, plus
# the plugin import).
custom_imports = dict(imports=['mmseg_redo'], allow_failed_imports=False)
default_scope = 'mmseg'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
# Distributed training (tools/dist_train.sh): each of ReDO's four networks
# gets its own DDP wrapper, and the model's own train_step (several
# optimizers) runs unchanged. device_ids=None lets DDP use the device each
# network already sits on, which works on GPUs (mmengine selects
# cuda:LOCAL_RANK) and on CPU (gloo), where device ids are refused.
# find_unused_parameters=False is enough: the discriminator, frozen
# (requires_grad False) during the generator-side step, fires no gradient
# hook there, so its DDP reducer expects nothing; every other parameter gets
# a gradient each step (tests/test_engine/test_distributed.py).
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False,
    device_ids=None)
