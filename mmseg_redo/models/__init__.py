"""ReDO's networks and segmentor."""
from .discriminator import SNResNetEncoder
from .mask_net import ReDOMaskEncoder, ReDOMaskNet, ReDOPSPHead
from .redo import ReDO
from .region_generators import MaskedRegionGenerator, RegionGenerators

__all__ = [
    'ReDO', 'ReDOMaskNet', 'ReDOMaskEncoder', 'ReDOPSPHead',
    'RegionGenerators', 'MaskedRegionGenerator', 'SNResNetEncoder'
]
