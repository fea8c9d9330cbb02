"""Re-initialise ReDO when one region swallows the image (autoRestart)."""
import copy
from typing import Optional

import numpy as np
import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.runner.checkpoint import load_state_dict
from mmseg.registry import HOOKS, MODELS

from ...utils.runner import model_device, optimizers_of, unwrap_model
from .iteration_seed_hook import iteration_seed

#: Tag of the seed of a restart's fresh weights (see ``_fresh_state``).
_RESTART_TAG = 0xC011A95E


@HOOKS.register_module()
class CollapseRestartHook(Hook):
    """The reference's ``--autoRestart``: restart training on mask collapse.

    In about a third of ReDO runs, one region grows until it covers the
    whole image (typically after 3k-5k iterations) and never recovers. Every
    ``interval`` iterations, this hook measures the mean soft area of each
    region

    * on the training batches of the last ``window`` iterations (the
      ``area_k`` values ``train_step`` logs; nothing is recomputed), and
    * on the first ``val_batches`` batches of the validation split (mask
      net only), when a validation loader exists and ``val_batches > 0``.

    If the smallest region's area is below ``threshold`` on both (as the
    reference requires) and the iteration is at most ``restart_until``,
    every network is re-initialised exactly as a newly built model (built
    from the config, then ``init_weights()``, loaded in place so optimizers
    and DDP keep their tensors), every optimizer state is cleared (fresh
    Adam moments), and training carries on from the current iteration. The
    count is kept in the message hub (``collapse_restarts``), so it
    survives ``--resume``. After ``restart_until``, a collapse is only
    logged as a warning (``collapse_warnings``).

    The fresh weights are drawn from a seed derived from (seed, iteration)
    that does not depend on the rank, so all DDP ranks restart identically,
    and the decision uses areas averaged over all ranks.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 500.
        threshold (float): Collapse when the smallest region's mean area is
            below this. Defaults to 0.1.
        restart_until (int): Restart only at iterations up to this one;
            later, only warn. Defaults to 7000.
        window (int): Training iterations averaged. At most ``interval``.
            Defaults to 20.
        val_batches (int): Validation batches measured; 0 to use training
            batches only. Defaults to 2.
    """

    priority = 'NORMAL'  # after RuntimeInfoHook logs areas, before saving

    def __init__(self,
                 interval: int = 500,
                 threshold: float = 0.1,
                 restart_until: int = 7000,
                 window: int = 20,
                 val_batches: int = 2) -> None:
        if not 0 < window <= interval:
            raise ValueError(
                'CollapseRestartHook: window must be in [1, interval], so '
                'that a check never averages areas from before the previous '
                f'restart; got window={window}, interval={interval}')
        self.interval = interval
        self.threshold = threshold
        self.restart_until = restart_until
        self.window = window
        self.val_batches = val_batches
        self.restarts = 0
        self.warnings = 0

    def before_train(self, runner) -> None:
        """Check the model can be rebuilt; pick up counts of a resumed run."""
        if not isinstance(runner.cfg.get('model'), dict):
            raise ValueError(
                'CollapseRestartHook rebuilds the networks from the config: '
                'build the runner from a config with a `model` dict.')
        self.restarts = runner.message_hub.get_info('collapse_restarts', 0)
        self.warnings = runner.message_hub.get_info('collapse_warnings', 0)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Every ``interval`` iterations: measure, then restart or warn."""
        if not self.every_n_train_iters(runner, self.interval):
            return
        iteration = runner.iter + 1
        model = unwrap_model(runner.model)
        train_areas = self._train_areas(runner, model.num_regions)
        val_areas = self._val_areas(runner, model)
        smallest_train = float(np.min(train_areas))
        smallest_val = None if val_areas is None else float(np.min(val_areas))
        collapsed = smallest_train < self.threshold and (
            smallest_val is None or smallest_val < self.threshold)
        measured = (f'region areas on training batches '
                    f'{np.round(train_areas, 4).tolist()}' +
                    ('' if val_areas is None else f', on validation batches '
                     f'{np.round(val_areas, 4).tolist()}'))
        if not collapsed:
            runner.logger.info(
                f'CollapseRestartHook: iteration {iteration}: {measured}; '
                f'no collapse (threshold {self.threshold}).')
            return
        if iteration > self.restart_until:
            self.warnings += 1
            runner.message_hub.update_info('collapse_warnings', self.warnings)
            runner.logger.warning(
                f'CollapseRestartHook: iteration {iteration}: {measured}: '
                f'the masks collapsed (smallest region below '
                f'{self.threshold}), but restarts stop after iteration '
                f'{self.restart_until}. Not restarting; consider stopping '
                'early or resuming from an earlier checkpoint.')
            return
        self._restart(runner, model, iteration)
        self.restarts += 1
        runner.message_hub.update_info('collapse_restarts', self.restarts)
        runner.logger.warning(
            f'CollapseRestartHook: iteration {iteration}: {measured}: the '
            f'masks collapsed (smallest region below {self.threshold}). '
            'RESTART: all networks re-initialised and all optimizer states '
            f'reset (restart {self.restarts} of this run); training '
            'continues.')

    # ------------------------------------------------------------------
    def _train_areas(self, runner, num_regions: int) -> np.ndarray:
        """Mean area per region over the last ``window`` iterations."""
        areas = []
        for k in range(num_regions):
            key = f'train/area_{k}'
            if key not in runner.message_hub.log_scalars:
                raise KeyError(
                    f'CollapseRestartHook needs the model to log area_{k} '
                    "from train_step (ReDO does); found no '{key}'.")
            history = runner.message_hub.get_scalar(key).data[0]
            # nanmean: a step skipped by NonFiniteLossHook logged NaN.
            areas.append(np.nanmean(history[-self.window:]))
        return self._mean_over_ranks(np.array(areas), runner)

    def _val_areas(self, runner, model) -> Optional[np.ndarray]:
        """Mean area per region on the first validation batches."""
        loop = runner.val_loop
        if self.val_batches <= 0 or loop is None:
            return None
        totals = torch.zeros(model.num_regions + 1, dtype=torch.float64)
        was_training = model.training
        model.eval()
        with torch.no_grad():
            for i, batch in enumerate(loop.dataloader):
                if i >= self.val_batches:
                    break
                inputs = model.data_preprocessor(batch, False)['inputs']
                masks = model.mask_net(inputs)
                totals[:-1] += masks.sum(dim=(0, 2, 3)).double().cpu()
                totals[-1] += masks[:, 0].numel()
        model.train(was_training)
        totals = totals.to(model_device(model))
        all_reduce(totals)  # sums over ranks; no-op without distributed
        totals = totals.cpu()
        return (totals[:-1] / totals[-1].clamp_min(1)).numpy()

    @staticmethod
    def _mean_over_ranks(values: np.ndarray, runner) -> np.ndarray:
        if get_world_size() == 1:
            return values
        tensor = torch.tensor(
            values, dtype=torch.float64, device=model_device(runner.model))
        all_reduce(tensor, op='mean')
        return tensor.cpu().numpy()

    def _restart(self, runner, model, iteration: int) -> None:
        """Weights of a newly built model, and empty optimizer states."""
        fresh_state = self._fresh_state(runner, iteration)
        # mmengine's load_state_dict unwraps DDP children; strict: every
        # tensor must be replaced.
        load_state_dict(model, fresh_state, strict=True)
        for optimizer in optimizers_of(runner.optim_wrapper):
            optimizer.state.clear()  # Adam re-creates moments at next step

    @staticmethod
    def _fresh_state(runner, iteration: int) -> dict:
        """State dict of ``MODELS.build(cfg.model)`` + ``init_weights()``.

        Seeded from (seed, iteration) only, so every rank builds the same
        weights; ``fork_rng`` leaves the training's RNG streams untouched.
        """
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(
                iteration_seed(runner.seed, _RESTART_TAG, iteration))
            fresh = MODELS.build(copy.deepcopy(runner.cfg.model))
            fresh.init_weights()
        return fresh.state_dict()
