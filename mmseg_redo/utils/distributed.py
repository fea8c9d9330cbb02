"""Distributed launch on machines without a GPU."""
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config


def init_cpu_process_group(cfg: Optional[Config], launcher: str) -> None:
    """Open the gloo process group for a ``pytorch`` launch without GPUs.

    mmengine 0.10's ``init_dist`` always calls ``torch.cuda.set_device``,
    which fails on a CPU-only machine, and skips its own set-up when a
    process group already exists. So, with no GPU visible, open the group
    here (torchrun's ``env://`` variables) with gloo before the runner is
    built; with GPUs, leave everything to mmengine (nccl).

    Args:
        cfg (Config, optional): The run's config; its
            ``env_cfg.dist_cfg.backend`` is set to ``'gloo'`` when the group
            is opened here. None for a tool without a runner.
        launcher (str): ``tools/train.py``'s ``--launcher``.
    """
    if (launcher != 'pytorch' or torch.cuda.is_available()
            or dist.is_initialized()):
        return
    dist.init_process_group(backend='gloo')
    if cfg is None:
        return
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg.backend = 'gloo'
