"""Utilities of mmseg_redo."""
from .distributed import init_cpu_process_group
from .checkpoint import register_checkpoint_safe_globals

__all__ = ['init_cpu_process_group', 'register_checkpoint_safe_globals']
