"""Engine parts of ReDO: optimizer constructor and hooks."""
from .hooks import *  # noqa: F401,F403
from .optim_constructor import MultiOptimWrapperConstructor

__all__ = ['MultiOptimWrapperConstructor']
