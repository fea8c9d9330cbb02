"""Named optimizer wrappers over submodules, for adversarial training."""
from typing import Dict, Optional

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmseg.registry import (OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                            OPTIMIZERS)

from ..utils.runner import unwrap_model


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an :class:`OptimWrapperDict` of named optimizer wrappers.

    mmengine ships no multi-optimizer constructor. Each key of the config
    (other than ``constructor``) names one wrapper and holds an ordinary
    optim-wrapper config (``optimizer``, ``type``, ``clip_grad``,
    ``accumulative_counts``...) plus, optionally, ``modules``: the model's
    submodules it updates, each with its own optimizer settings, as a dict
    ``{submodule name: settings}`` (one parameter group per submodule, the
    settings overriding ``optimizer``'s). Without ``modules`` the wrapper
    updates the submodule of its own name (built by mmengine's
    :class:`DefaultOptimWrapperConstructor`, so ``paramwise_cfg`` works
    there).

    One wrapper over several networks is how a GAN updates several
    networks from one loss (mmagic's ``generators`` wrapper of CycleGAN):
    one ``update_params`` scales, accumulates and steps them together.

    Example:
        >>> adam = dict(type='Adam', betas=(0.0, 0.9))
        >>> optim_wrapper = dict(
        ...     constructor='MultiOptimWrapperConstructor',
        ...     generator=dict(
        ...         optimizer=dict(adam, lr=1e-4),
        ...         modules=dict(
        ...             mask_net=dict(lr=1e-5, weight_decay=1e-4),
        ...             region_generators=dict(),
        ...             z_encoder=dict())),
        ...     discriminator=dict(optimizer=dict(adam, lr=1e-4)))

    Args:
        optim_wrapper_cfg (dict): One optim-wrapper config per wrapper.
        paramwise_cfg (dict, optional): Must be None: give a
            ``paramwise_cfg`` inside a single-module wrapper's config.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg is not None:
            raise ValueError(
                'MultiOptimWrapperConstructor takes paramwise_cfg inside each '
                'wrapper config, e.g. optim_wrapper.discriminator.'
                'paramwise_cfg')
        self.wrapper_cfgs: Dict[str, dict] = {}
        for name, cfg in optim_wrapper_cfg.items():
            cfg = dict(cfg)
            if cfg.get('modules') is not None and cfg.get('paramwise_cfg'):
                raise ValueError(
                    f'optim_wrapper.{name}: paramwise_cfg works only on a '
                    'wrapper of one submodule (no modules=...); give each '
                    "submodule's settings in modules instead")
            self.wrapper_cfgs[name] = cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        """Build the wrappers for ``model``'s submodules."""
        model = unwrap_model(model)
        wrappers = {}
        for name, cfg in self.wrapper_cfgs.items():
            modules = cfg.get('modules') or {name: {}}
            missing = [m for m in modules if not hasattr(model, m)]
            if missing:
                raise KeyError(
                    f'optim_wrapper.{name} names {missing}, which '
                    f'{type(model).__name__} does not have; its submodules '
                    f'are {[n for n, _ in model.named_children()]}')
            wrappers[name] = self._build(model, cfg, modules)
        return OptimWrapperDict(**wrappers)

    @staticmethod
    def _build(model: nn.Module, cfg: dict, modules: dict):
        """One wrapper: one parameter group per submodule."""
        cfg = dict(cfg)
        cfg.pop('modules', None)
        if len(modules) == 1 and not any(modules.values()):
            paramwise_cfg = cfg.pop('paramwise_cfg', None)
            submodule = getattr(model, next(iter(modules)))
            return DefaultOptimWrapperConstructor(cfg,
                                                  paramwise_cfg)(submodule)
        groups = [
            dict(params=list(getattr(model, m).parameters()), **settings)
            for m, settings in modules.items()
        ]
        optimizer = OPTIMIZERS.build(dict(cfg.pop('optimizer'),
                                          params=groups))
        cfg.setdefault('type', 'OptimWrapper')
        return OPTIM_WRAPPERS.build(cfg, default_args=dict(optimizer=optimizer))
