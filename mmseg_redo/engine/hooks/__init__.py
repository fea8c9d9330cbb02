"""Training hooks of ReDO."""
from .collapse_restart_hook import CollapseRestartHook
from .iteration_seed_hook import IterationSeedHook
from .mask_assignment_hook import MaskAssignmentHook
from .nonfinite_loss_hook import NonFiniteLossHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = [
    'MaskAssignmentHook', 'CollapseRestartHook', 'IterationSeedHook',
    'NonFiniteLossHook', 'SafeCheckpointHook'
]
from .redraw_visualization_hook import RedrawVisualizationHook  # noqa: E402

__all__ += ['RedrawVisualizationHook']
from .train_time_budget_hook import TrainTimeBudgetHook  # noqa: E402

__all__ += ['TrainTimeBudgetHook']
