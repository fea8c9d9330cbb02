"""Stop (or skip the step) when a training loss is NaN or infinite."""
import math
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...utils.runner import model_device, optimizers_of


class TrainingStateSnapshot:
    """A copy of the model's tensors and the optimizers' states.

    Parameters and buffers are copied into buffers allocated once and
    restored in place, so the optimizers and DDP keep referencing the same
    tensors.
    """

    def __init__(self) -> None:
        self._tensors: List[torch.Tensor] = []
        self._copies: List[torch.Tensor] = []
        self._optim_states: List[Dict] = []

    def capture(self, model: torch.nn.Module,
                optimizers: Sequence[torch.optim.Optimizer]) -> None:
        """Copy the current state."""
        tensors = [*model.parameters(), *model.buffers()]
        if len(tensors) != len(self._tensors) or any(
                a is not b for a, b in zip(tensors, self._tensors)):
            self._tensors = tensors
            self._copies = [t.detach().clone() for t in tensors]
        else:
            with torch.no_grad():
                for copy, tensor in zip(self._copies, self._tensors):
                    copy.copy_(tensor)
        self._optim_states = [{
            param: {
                key:
                value.detach().clone()
                if isinstance(value, torch.Tensor) else value
                for key, value in state.items()
            }
            for param, state in optimizer.state.items()
        } for optimizer in optimizers]

    def restore(self, optimizers: Sequence[torch.optim.Optimizer]) -> None:
        """Put the captured state back."""
        with torch.no_grad():
            for copy, tensor in zip(self._copies, self._tensors):
                tensor.copy_(copy)
        for optimizer, saved in zip(optimizers, self._optim_states):
            optimizer.state.clear()  # params without state before: fresh
            for param, state in saved.items():
                optimizer.state[param] = {
                    key:
                    value.clone() if isinstance(value, torch.Tensor) else value
                    for key, value in state.items()
                }


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Catch NaN/Inf losses before they reach a checkpoint.

    After every training iteration, the values returned by ``train_step``
    (ReDO's losses and region areas) are checked. On a non-finite value:

    * ``action='raise'`` (default): training stops with a
      ``FloatingPointError`` that names the iteration and the losses. The
      hook runs before the checkpoint hook, so the weights of that step are
      never saved: the last checkpoint holds the last good weights.
    * ``action='skip'``: the whole iteration is undone (every network's
      weights and buffers, every optimizer's state) and counted
      (``nonfinite_skips`` in the message hub); training goes on with the
      next batch. More than ``max_consecutive_skips`` skips in a row raise
      as above.

    Skipping design: ReDO's ``train_step`` updates four networks with two
    losses, the discriminator's computed only after the generator-side
    update, so no single point exists where all losses are known before any
    update. The hook therefore copies the training state before each
    iteration (``before_train_iter``) and puts it back when a loss is bad.
    This costs one copy of the weights and optimizer states per iteration
    (``skip`` mode only) and needs no change to the model.

    In both modes, ``before_save_checkpoint`` refuses to write a checkpoint
    whose weights are not finite. In distributed runs, the ranks agree
    (all-reduce) so that all raise or all skip together.

    Args:
        action (str): ``'raise'`` or ``'skip'``. Defaults to ``'raise'``.
        keys (Sequence[str], optional): Output names to check. Defaults to
            None: every value ``train_step`` returns.
        max_consecutive_skips (int): In ``skip`` mode, raise after this many
            skipped iterations in a row. Defaults to 10.
    """

    priority = 'ABOVE_NORMAL'  # after RuntimeInfoHook, before checkpoints

    def __init__(self,
                 action: str = 'raise',
                 keys: Optional[Sequence[str]] = None,
                 max_consecutive_skips: int = 10) -> None:
        if action not in ('raise', 'skip'):
            raise ValueError(
                f"NonFiniteLossHook: action must be 'raise' or 'skip', got "
                f'{action!r}')
        self.action = action
        self.keys = None if keys is None else list(keys)
        self.max_consecutive_skips = max_consecutive_skips
        self.consecutive_skips = 0
        self.num_skips = 0
        self.snapshot = TrainingStateSnapshot()

    def before_train(self, runner) -> None:
        """Pick up the skip count of a resumed run."""
        self.num_skips = runner.message_hub.get_info('nonfinite_skips', 0)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        """In ``skip`` mode, copy the state the iteration starts from."""
        if self.action == 'skip':
            self.snapshot.capture(runner.model,
                                  optimizers_of(runner.optim_wrapper))

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Raise, or undo the iteration, if a loss is not finite."""
        bad = self._nonfinite(outputs or {})
        # One flag summed over ranks: all ranks take the same decision
        # (a no-op without torch.distributed).
        flag = torch.tensor(
            float(bool(bad)), device=model_device(runner.model))
        all_reduce(flag)
        if flag.item() == 0:
            self.consecutive_skips = 0
            return
        iteration = runner.iter + 1  # as mmengine's logs count
        what = ', '.join(f'{k}={v}'
                         for k, v in bad.items()) or ('a loss on another rank')
        if self.action == 'skip' and (self.consecutive_skips
                                      < self.max_consecutive_skips):
            self.snapshot.restore(optimizers_of(runner.optim_wrapper))
            self.consecutive_skips += 1
            self.num_skips += 1
            runner.message_hub.update_info('nonfinite_skips', self.num_skips)
            runner.logger.warning(
                f'NonFiniteLossHook: non-finite loss at iteration '
                f'{iteration} ({what}): step skipped, weights and optimizer '
                f'states restored (skip {self.num_skips} in total, '
                f'{self.consecutive_skips} in a row).')
            return
        last = runner.message_hub.get_info('last_ckpt', None)
        advice = (f'the last checkpoint, {last}, holds the last good '
                  'weights (resume from it with --resume, perhaps with a '
                  'lower learning rate)'
                  if last else 'no checkpoint was written yet')
        in_a_row = (f' after {self.consecutive_skips} skipped iterations in '
                    'a row' if self.action == 'skip' else '')
        raise FloatingPointError(
            f'Non-finite loss at iteration {iteration}{in_a_row}: {what}. '
            f'Training stopped; {advice}. To skip such steps instead, use '
            "NonFiniteLossHook(action='skip').")

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to save non-finite weights."""
        bad = [
            name for name, value in checkpoint.get('state_dict', {}).items()
            if isinstance(value, torch.Tensor) and value.is_floating_point()
            and not bool(torch.isfinite(value).all())
        ]
        if bad:
            raise FloatingPointError(
                f'Refusing to save a checkpoint at iteration {runner.iter + 1}'
                f': {len(bad)} weights are NaN or infinite (e.g. '
                f'{bad[:3]}). The previous checkpoint is kept.')

    def _nonfinite(self, outputs: dict) -> Dict[str, float]:
        """The checked outputs that are NaN or infinite, as floats."""
        keys = self.keys if self.keys is not None else list(outputs)
        values = {k: outputs[k] for k in keys if k in outputs}
        tensors = [
            v.detach().float().reshape(-1) for v in values.values()
            if isinstance(v, torch.Tensor)
        ]
        # One device sync for all values in the common (finite) case.
        if tensors and bool(torch.isfinite(torch.cat(tensors)).all()) and (all(
                isinstance(v, torch.Tensor) or math.isfinite(float(v))
                for v in values.values())):
            return {}
        bad = {}
        for key, value in values.items():
            as_float = (
                value.detach().float().reshape(-1) if isinstance(
                    value, torch.Tensor) else torch.tensor([float(value)]))
            if not bool(torch.isfinite(as_float).all()):
                bad[key] = float(as_float[~torch.isfinite(as_float)][0])
        return bad
