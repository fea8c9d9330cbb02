"""Data transforms of mmseg_redo, registered in mmseg's TRANSFORMS."""
from .loading import (LoadImageFromFileChecked, LoadObjectMask,
                      LoadSyntheticSample)
from .processing import ResetOriShape, ResizeShorterSide, shorter_side_shape

__all__ = [
    'LoadImageFromFileChecked', 'LoadObjectMask', 'LoadSyntheticSample',
    'ResetOriShape', 'ResizeShorterSide', 'shorter_side_shape'
]
