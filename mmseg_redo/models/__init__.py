"""ReDO's networks and segmentor, and the GrabCut baseline segmentor."""
from .diff_augment import DiffAugment
from .discriminator import SNResNetEncoder
from .filtered_encoder_decoder import FilteredEncoderDecoder
from .grabcut import GrabCutSegmentor, centred_box, grabcut_mask
from .guided_filter import refine_predictions, refine_with_guided_filter
from .mask_net import ReDOMaskEncoder, ReDOMaskNet, ReDOPSPHead
from .redo import ReDO
from .region_generators import MaskedRegionGenerator, RegionGenerators

__all__ = [
    'ReDO', 'ReDOMaskNet', 'ReDOMaskEncoder', 'ReDOPSPHead',
    'RegionGenerators', 'MaskedRegionGenerator', 'SNResNetEncoder', 'DiffAugment',
    'GrabCutSegmentor', 'centred_box', 'grabcut_mask', 'FilteredEncoderDecoder',
    'refine_predictions', 'refine_with_guided_filter'
]
