"""Stop training after a wall-clock budget, validating and saving first."""
import time
from typing import Optional

from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class TrainTimeBudgetHook(Hook):
    """End training once ``minutes`` of training have passed.

    When the budget is spent, the current iteration becomes the last one:
    the train loop then validates and the checkpoint hook saves, exactly as
    at a scheduled end, so a time-boxed run ends with a scored, saved model.
    Validation time counts towards the budget.

    Args:
        minutes (float, optional): Wall-clock budget of the training loop;
            None means no budget (the schedule's ``max_iters`` alone ends
            training), so configs can carry the hook and a command line can
            set ``default_hooks.time_budget.minutes=6``. Defaults to None.
    """

    # Before CheckpointHook and the loop's own end-of-training check.
    priority = 'VERY_HIGH'

    def __init__(self, minutes: Optional[float] = None) -> None:
        if minutes is not None and minutes <= 0:
            raise ValueError(f'minutes must be positive, got {minutes}')
        self.seconds = None if minutes is None else minutes * 60
        self._start: Optional[float] = None

    def before_train(self, runner) -> None:
        """Start the clock."""
        self._start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Make this iteration the last once the budget is spent."""
        if self.seconds is None:
            return
        elapsed = time.perf_counter() - self._start
        last = runner.iter + 1
        if elapsed >= self.seconds and last < runner.train_loop.max_iters:
            # IterBasedTrainLoop reads its end from _max_iters.
            runner.train_loop._max_iters = last
            runner.logger.info(
                f'TrainTimeBudgetHook: {elapsed / 60:.1f} of '
                f'{self.seconds / 60:.1f} minutes spent: training ends at '
                f'iteration {last}.')
