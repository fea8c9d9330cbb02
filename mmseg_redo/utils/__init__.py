"""Utilities of mmseg_redo."""
from .distributed import init_cpu_process_group
from .checkpoint import register_checkpoint_safe_globals
from .config import merge_cfg_options
from .faithful import make_faithful
from .runner import model_device, optimizers_of, unwrap_model

__all__ = [
    'init_cpu_process_group', 'make_faithful', 'merge_cfg_options',
    'model_device', 'optimizers_of', 'register_checkpoint_safe_globals',
    'unwrap_model'
]
