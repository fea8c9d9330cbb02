"""Datasets and data transforms of mmseg_redo (registered on import)."""
from .base import OBJECT_METAINFO, ObjectSegDataset, read_list_file
from .cub import CUBDataset
from .flowers17 import Flowers17Dataset
from .flowers102 import Flowers102Dataset
from .image_folder import ImageFolderDataset
from .lfw import LFWDataset, parse_lfw_entry
from .mask_rules import MASK_RULES, decode_mask
from .synthetic import SyntheticObjectsDataset
from .synthetic_render import render_synthetic_sample
from .transforms import (LoadImageFromFileChecked, LoadObjectMask,
                         LoadSyntheticSample, ResetOriShape, ResizeShorterSide,
                         shorter_side_shape)

__all__ = [
    'OBJECT_METAINFO', 'ObjectSegDataset', 'read_list_file', 'CUBDataset',
    'Flowers17Dataset', 'Flowers102Dataset', 'ImageFolderDataset',
    'LFWDataset', 'parse_lfw_entry', 'MASK_RULES', 'decode_mask',
    'SyntheticObjectsDataset', 'render_synthetic_sample',
    'LoadImageFromFileChecked', 'LoadObjectMask', 'LoadSyntheticSample',
    'ResetOriShape', 'ResizeShorterSide', 'shorter_side_shape'
]
