"""Data transforms of mmseg_redo, registered in mmseg's TRANSFORMS."""
from .caching import CachedCompose
from .loading import (LoadImageFromFileChecked, LoadObjectMask,
                      LoadSyntheticSample)
from .processing import ResetOriShape, ResizeShorterSide, shorter_side_shape

__all__ = [
    'CachedCompose', 'LoadImageFromFileChecked', 'LoadObjectMask',
    'LoadSyntheticSample', 'ResetOriShape', 'ResizeShorterSide',
    'shorter_side_shape'
]
