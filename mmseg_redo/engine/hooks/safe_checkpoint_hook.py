"""mmengine's CheckpointHook with crash-safe writes and weights-only files."""
import glob
import os
import os.path as osp
from collections import OrderedDict
from typing import Optional

import torch.nn as nn
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import get_state_dict
from mmseg.registry import HOOKS

from ...utils.checkpoint import make_checkpoint_weights_only
from ...utils.file_io import TMP_SUFFIX, atomic_write_text, publish_file
from ...utils.runner import unwrap_model


def unwrap_state_dict_keys(model: nn.Module, state_dict: dict) -> dict:
    """Rename ``model``'s state-dict keys as if no child were DDP-wrapped.

    Values are kept (another hook, e.g. EMA, may have swapped them), only
    keys such as ``mask_net.module.encoder.w`` become ``mask_net.encoder.w``,
    the names mmengine's loader expects whether or not the model it loads
    into is wrapped.

    Args:
        model (nn.Module): The model (its top-level wrapper removed).
        state_dict (dict): Its state dict, as saved by the runner.

    Returns:
        dict: The same tensors under unwrapped names.
    """
    if not any(is_model_wrapper(m) for m in model.modules()):
        return state_dict
    # torch's state_dict and mmengine's get_state_dict (which skips
    # wrappers) walk the modules in the same order: pair their keys.
    plain = get_state_dict(model, keep_vars=True)
    wrapped = model.state_dict(keep_vars=True)
    if len(plain) != len(wrapped):
        return state_dict
    names = dict(zip(wrapped, plain))
    renamed = OrderedDict(
        (names.get(key, key), value) for key, value in state_dict.items())
    renamed._metadata = plain._metadata
    return renamed


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """CheckpointHook whose interval checkpoints survive a kill at any time.

    mmengine's hook deletes the oldest checkpoint *before* writing the new
    one, writes the ``.pth`` in place and then rewrites ``last_checkpoint``
    in place. A run killed in between can leave ``last_checkpoint`` empty or
    pointing at a truncated or deleted file, and ``--resume`` then fails or
    silently starts from scratch. Here, for local storage:

    1. the checkpoint is written to ``<name>.tmp``, flushed, and renamed to
       ``<name>`` (``os.replace``, atomic);
    2. ``last_checkpoint`` is replaced the same way, only after that;
    3. checkpoints beyond ``max_keep_ckpts`` are deleted only then.

    At every moment, ``last_checkpoint`` names a complete file. Leftover
    ``.tmp`` files of a killed run are removed when training starts. Remote
    backends keep mmengine's behaviour. Best checkpoints (``save_best``)
    keep mmengine's writer; they are never what ``--resume`` loads.

    Every checkpoint this hook triggers is also made safe to load with
    ``torch.load(weights_only=True)`` and independent of DDP wrapping
    (``before_save_checkpoint``): the state dict is taken without the
    wrappers' ``.module.`` (mmengine saves ``mask_net.module.*`` keys under
    ``MMSeparateDistributedDataParallel``, which no loader then matches) and
    the message hub's buffers pickle as plain data.

    Args:
        **kwargs: mmengine ``CheckpointHook`` arguments (``interval``,
            ``by_epoch``, ``max_keep_ckpts``, ``save_best``...).
    """

    def before_train(self, runner) -> None:
        """Set up as mmengine does, then remove half-written files."""
        super().before_train(runner)
        if self._is_local() and is_main_process():
            pattern = osp.join(glob.escape(self.out_dir), '*' + TMP_SUFFIX)
            for stale in glob.glob(pattern):
                runner.logger.warning(
                    f'Removing {stale}, a checkpoint left half-written by '
                    'an interrupted run.')
                os.remove(stale)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Unwrapped state-dict keys and weights-only-safe contents."""
        checkpoint['state_dict'] = unwrap_state_dict_keys(
            unwrap_model(runner.model), checkpoint['state_dict'])
        make_checkpoint_weights_only(checkpoint)

    def _is_local(self) -> bool:
        return isinstance(getattr(self, 'file_backend', None), LocalBackend)

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: Optional[dict]) -> None:
        """Write ``filename_tmpl.format(step)`` atomically, then prune."""
        if not self._is_local():
            return super()._save_checkpoint_with_step(runner, step, meta)

        # Same bookkeeping as mmengine (recorded in the message hub, so the
        # checkpoint knows which files to keep), but files are deleted only
        # once the new checkpoint is complete.
        stale = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        runner.save_checkpoint(  # a no-op on ranks other than 0
            self.out_dir,
            filename + TMP_SUFFIX,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        publish_file(self.last_ckpt + TMP_SUFFIX, self.last_ckpt)
        atomic_write_text(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old_step in stale:
            old = osp.join(self.out_dir, self.filename_tmpl.format(old_step))
            if osp.isfile(old):
                os.remove(old)
