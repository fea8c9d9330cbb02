"""Data transforms of mmseg_redo, registered in mmseg's TRANSFORMS."""
from .caching import CachedCompose
from .guide import KeepGuideImage, KeepPhoto, ResizeImageShorterSide
from .loading import (LoadImageFromFileChecked, LoadObjectMask,
                      LoadSyntheticSample)
from .processing import ResetOriShape, ResizeShorterSide, shorter_side_shape

__all__ = [
    'CachedCompose', 'KeepGuideImage', 'KeepPhoto',
    'LoadImageFromFileChecked',
    'LoadObjectMask', 'LoadSyntheticSample', 'ResetOriShape',
    'ResizeImageShorterSide', 'ResizeShorterSide', 'shorter_side_shape'
]
