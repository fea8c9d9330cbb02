"""Training hooks of ReDO."""
from .collapse_restart_hook import CollapseRestartHook
from .iteration_seed_hook import IterationSeedHook
from .mask_assignment_hook import MaskAssignmentHook
from .nonfinite_loss_hook import NonFiniteLossHook
from .redo_ema_hook import ReDOEMAHook
from .redraw_visualization_hook import RedrawVisualizationHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .train_time_budget_hook import TrainTimeBudgetHook

__all__ = [
    'MaskAssignmentHook', 'CollapseRestartHook', 'IterationSeedHook',
    'NonFiniteLossHook', 'SafeCheckpointHook', 'RedrawVisualizationHook',
    'TrainTimeBudgetHook', 'ReDOEMAHook'
]
