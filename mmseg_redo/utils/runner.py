"""What hooks and tools need of a runner's model and optim wrapper."""
from typing import List

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside an mmengine model wrapper, or ``model`` itself.

    Args:
        model (nn.Module): ``runner.model``: the model, or a wrapper
            registered in mmengine's ``MODEL_WRAPPERS`` (DDP,
            ``MMSeparateDistributedDataParallel``...) around it.

    Returns:
        nn.Module: The model, whose own attributes (``mask_net``,
        ``num_regions``...) can be read.
    """
    return model.module if is_model_wrapper(model) else model


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter.

    Args:
        model (nn.Module): A model, wrapped or not.

    Returns:
        torch.device: That device, or the CPU for a model without
        parameters (e.g. GrabCut).
    """
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device('cpu')


def optimizers_of(optim_wrapper) -> List[torch.optim.Optimizer]:
    """The optimizers behind one optim wrapper or a dict of them.

    Args:
        optim_wrapper: ``runner.optim_wrapper``: an ``OptimWrapper``, an
            ``OptimWrapperDict`` (ReDO's), or still a config before
            training builds it.

    Returns:
        list[torch.optim.Optimizer]: The optimizers; empty for a config.
    """
    if isinstance(optim_wrapper, OptimWrapperDict):
        return [wrapper.optimizer for wrapper in optim_wrapper.values()]
    if isinstance(optim_wrapper, OptimWrapper):
        return [optim_wrapper.optimizer]
    return []
