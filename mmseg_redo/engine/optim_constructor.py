"""One optimizer wrapper per named submodule, for adversarial training."""
from typing import Optional

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an :class:`OptimWrapperDict` keyed by submodule name.

    mmengine ships no multi-optimizer constructor. Each key of the config
    (other than ``constructor``) names a direct submodule of the model and
    holds an ordinary optim-wrapper config (``optimizer``, optional
    ``paramwise_cfg``, ``type``, ``clip_grad``), built by mmengine's
    :class:`DefaultOptimWrapperConstructor` on that submodule alone.
    Learning rates are then logged as ``<name>.lr``.

    Example:
        >>> optim_wrapper = dict(
        ...     constructor='MultiOptimWrapperConstructor',
        ...     mask_net=dict(optimizer=dict(type='Adam', lr=1e-5)),
        ...     discriminator=dict(optimizer=dict(type='Adam', lr=1e-4)))

    Args:
        optim_wrapper_cfg (dict): One optim-wrapper config per submodule.
        paramwise_cfg (dict, optional): Must be None: give a
            ``paramwise_cfg`` inside each submodule's config instead.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg is not None:
            raise ValueError(
                'MultiOptimWrapperConstructor takes paramwise_cfg inside each '
                'submodule config, e.g. optim_wrapper.mask_net.paramwise_cfg')
        self.constructors = {}
        for name, cfg in optim_wrapper_cfg.items():
            cfg = dict(cfg)
            self.constructors[name] = DefaultOptimWrapperConstructor(
                cfg, cfg.pop('paramwise_cfg', None))

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        """Build the wrappers for ``model``'s submodules."""
        model = getattr(model, 'module', model)
        missing = [n for n in self.constructors if not hasattr(model, n)]
        if missing:
            raise KeyError(
                f'optim_wrapper names {missing}, which {type(model).__name__}'
                f' does not have; its submodules are '
                f'{[n for n, _ in model.named_children()]}')
        return OptimWrapperDict(
            **{
                name: constructor(getattr(model, name))
                for name, constructor in self.constructors.items()
            })
