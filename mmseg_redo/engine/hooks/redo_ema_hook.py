"""mmengine's EMAHook, kept in step with ReDO's non-averaged state."""
from typing import Optional

from mmengine.hooks import EMAHook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class ReDOEMAHook(EMAHook):
    """EMA of the weights for validation, test, inference and checkpoints.

    mmengine's :class:`~mmengine.hooks.EMAHook` swaps the averaged weights
    in for validation and test and saves them as the checkpoint's
    ``state_dict`` (so ``init_model`` loads them). Two things of ReDO are
    not weights to average, and this subclass keeps them right:

    * Buffers (the ``object_index`` that :class:`MaskAssignmentHook` sets
      before each validation, spectral norm's power-iteration vectors) are
      copied into the averaged model at every *training* iteration only, so
      a checkpoint saved right after a validation would carry the object
      region of the validation before. They are copied again before every
      save.
    * When :class:`CollapseRestartHook` re-initialises the networks, the
      average restarts from the fresh weights instead of dragging the
      collapsed ones along for thousands of iterations.

    Args:
        **kwargs: Passed to :class:`~mmengine.hooks.EMAHook`.
    """

    def before_train(self, runner) -> None:
        """Build the averaged model; remember the restarts already made."""
        super().before_train(runner)
        self._restarts = runner.message_hub.get_info('collapse_restarts', 0)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Average, or start again from the weights of a restart."""
        restarts = runner.message_hub.get_info('collapse_restarts', 0)
        if restarts != self._restarts:
            self._restarts = restarts
            self.ema_model.module.load_state_dict(self.src_model.state_dict())
            return
        super().after_train_iter(runner, batch_idx, data_batch, outputs)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Save the averaged weights with the live model's buffers."""
        for averaged, live in zip(self.ema_model.module.buffers(),
                                  self.src_model.buffers()):
            averaged.copy_(live)
        super().before_save_checkpoint(runner, checkpoint)
