"""ReDO's networks and segmentor, and the GrabCut baseline segmentor."""
from .diff_augment import DiffAugment
from .discriminator import SNResNetEncoder
from .grabcut import (GrabCutSegmentor, centred_box, grabcut_mask,
                      refine_with_grabcut)
from .guided_filter import refine_with_guided_filter
from .mask_net import ReDOMaskEncoder, ReDOMaskNet, ReDOPSPHead
from .redo import ReDO
from .refinement import refine_predictions
from .region_generators import MaskedRegionGenerator, RegionGenerators

__all__ = [
    'ReDO', 'ReDOMaskNet', 'ReDOMaskEncoder', 'ReDOPSPHead',
    'RegionGenerators', 'MaskedRegionGenerator', 'SNResNetEncoder', 'DiffAugment',
    'GrabCutSegmentor', 'centred_box', 'grabcut_mask',
    'refine_predictions', 'refine_with_grabcut', 'refine_with_guided_filter'
]
