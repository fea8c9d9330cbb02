"""Engine parts of ReDO: optimizer constructor and hooks."""
from .hooks import (CollapseRestartHook, IterationSeedHook, MaskAssignmentHook,
                    NonFiniteLossHook, RedrawVisualizationHook, ReDOEMAHook,
                    SafeCheckpointHook, TrainTimeBudgetHook)
from .optim_constructor import MultiOptimWrapperConstructor

__all__ = [
    'MultiOptimWrapperConstructor', 'MaskAssignmentHook',
    'CollapseRestartHook', 'IterationSeedHook', 'NonFiniteLossHook',
    'ReDOEMAHook', 'SafeCheckpointHook', 'RedrawVisualizationHook',
    'TrainTimeBudgetHook'
]
