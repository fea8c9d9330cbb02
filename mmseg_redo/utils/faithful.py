"""The exact fp32 reproduction of the reference step, as a config edit."""
from mmengine.config import Config

# Speed settings that change how, not what, the step computes.
_FAST_OPTIMIZER_KEYS = ('fused', 'foreach')


def make_faithful(cfg: Config) -> Config:
    """Switch off every speed setting of a ReDO config, in place.

    The model's fast path (autocast, channels_last, compile) and composite
    reuse go, and each optimizer falls back to PyTorch's default Adam
    implementation (the reference's), instead of the fused kernel.

    Args:
        cfg (Config): A ReDO config with a multi-optimizer ``optim_wrapper``.

    Returns:
        Config: ``cfg`` itself.
    """
    cfg.model.fast_path = None
    cfg.model.reuse_composites = False
    for wrapper in cfg.optim_wrapper.values():
        if isinstance(wrapper, dict) and 'optimizer' in wrapper:
            for key in _FAST_OPTIMIZER_KEYS:
                wrapper['optimizer'].pop(key, None)
    return cfg
