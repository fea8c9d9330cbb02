"""Training hooks of ReDO."""
from .mask_assignment_hook import MaskAssignmentHook

__all__ = ['MaskAssignmentHook']
