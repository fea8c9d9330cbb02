"""Random numbers as a function of (seed, rank, iteration)."""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

#: Tag mixed into every seed, so these streams differ from other seeds
#: derived from the same run seed (e.g. the dataset's or the sampler's).
_STREAM_TAG = 0x5EED17E5


def iteration_seed(seed: int, rank: int, iteration: int) -> int:
    """A well-mixed 64-bit seed for one rank and one iteration.

    Args:
        seed (int): The run's seed (``runner.seed``).
        rank (int): The process rank.
        iteration (int): The 0-based training iteration.

    Returns:
        int: A seed in ``[0, 2**64)``.
    """
    words = np.random.SeedSequence(
        [_STREAM_TAG, seed % 2**63, rank, iteration]).generate_state(
            2, dtype=np.uint32)
    return int(words[0]) << 32 | int(words[1])


def seed_all(seed: int) -> None:
    """Seed torch (CPU and every GPU), numpy's and Python's global RNGs."""
    torch.manual_seed(seed)  # also seeds all CUDA devices
    np.random.seed(seed % 2**32)
    random.seed(seed)


@HOOKS.register_module()
class IterationSeedHook(Hook):
    """Reseed every RNG before each training iteration, from (seed, rank, it).

    mmengine seeds the RNGs once when the runner starts and does not save
    their states in checkpoints: a resumed run draws different codes z from
    the run it continues, and every DDP rank draws the *same* codes (one
    seed for all ranks). Saving the states would not be enough either: what
    runs between a checkpoint and the next iteration (validation, the data
    loader's fast-forward on resume) differs between the two runs.

    This hook makes the random numbers drawn inside iteration ``i`` a pure
    function of ``(runner.seed, rank, i)``: they are the same whether the
    run was interrupted or not, and independent between ranks. Nothing is
    added to checkpoints, since the seed and the iteration already are.

    What it does not cover: random data transforms that draw from the
    global RNGs in the main process (``num_workers=0``) are not replayed
    exactly after a resume. All of mmseg_redo's datasets are deterministic
    per index, and random transforms in worker processes are replayed by
    mmengine's fast-forward of the data loader.

    Args:
        seed (int, optional): Base seed; defaults to ``runner.seed`` (the
            ``randomness.seed`` of the config, or the seed mmengine drew and
            saved in the checkpoint).
    """

    priority = 'HIGHEST'  # before any hook that might draw random numbers

    def __init__(self, seed: Optional[int] = None) -> None:
        self.seed = seed

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        """Seed the RNGs for iteration ``runner.iter`` on this rank."""
        base = self.seed if self.seed is not None else runner.seed
        seed_all(iteration_seed(base, runner.rank, runner.iter))
