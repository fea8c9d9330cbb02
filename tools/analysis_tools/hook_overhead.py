"""Measure the per-iteration cost of mmseg_redo's reliability hooks.

Trains the same config for a few iterations, in one process, alternately
without the reliability hooks (mmengine's CheckpointHook, only
MaskAssignmentHook) and with them (as the configs set them, and with
``NonFiniteLossHook(action='skip')``), and reports the median iteration
time of each variant (``before_train_iter`` to ``after_train_iter``, so data
loading is excluded). It also times each hook's own methods directly, which
is far less noisy than the difference of two medians, and the cost of one
collapse check and of one checkpoint save with each checkpoint hook.

Example:
    python tools/analysis_tools/hook_overhead.py configs/redo/redo_toy.py \
        --iters 15 --rounds 2
"""
import argparse
import copy
import os.path as osp
import statistics
import tempfile
import time
from collections import defaultdict
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import Runner

RELIABILITY_HOOKS = ('IterationSeedHook', 'NonFiniteLossHook',
                     'CollapseRestartHook')


class IterStart(Hook):
    """Marks the start of an iteration (put first among the hooks)."""

    def __init__(self, times: List[float]) -> None:
        self.times = times

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.start = time.perf_counter()


class IterEnd(Hook):
    """Records the iteration's time (put last among the hooks)."""

    def __init__(self, start: IterStart) -> None:
        self.start = start

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.start.times.append(time.perf_counter() - self.start.start)


def _timed(method, totals: Dict[str, float], name: str):
    """Wrap a bound hook method so its time adds to ``totals[name]``."""

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - start

    return wrapper


def build_runner(cfg: Config, variant: str, work_dir: str,
                 iters: int) -> Runner:
    """A runner for ``iters`` iterations of one variant."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = osp.join(work_dir, variant)
    cfg.experiment_name = f'{variant}_{time.time_ns()}'
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = 10**9
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.logger.interval = 10**9
    cfg.default_hooks.checkpoint.interval = 10**9
    cfg.default_hooks.checkpoint.save_last = False
    cfg.default_hooks.checkpoint.save_best = None
    hooks = [h for h in cfg.custom_hooks if h['type'] == 'MaskAssignmentHook']
    if variant == 'without':
        cfg.default_hooks.checkpoint.type = 'CheckpointHook'
    else:
        hooks = copy.deepcopy(cfg.custom_hooks)
        for hook in hooks:
            if hook['type'] == 'NonFiniteLossHook' and variant == 'skip':
                hook['action'] = 'skip'
            if hook['type'] == 'CollapseRestartHook':
                hook['val_batches'] = 0  # no val split in this benchmark
    cfg.custom_hooks = hooks
    return Runner.from_cfg(cfg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--iters', type=int, default=15)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)

    times = defaultdict(list)
    rounds = defaultdict(list)
    hook_time: Dict[str, Dict[str,
                              float]] = defaultdict(lambda: defaultdict(float))
    collapse_checks, saves = [], defaultdict(list)
    with tempfile.TemporaryDirectory() as work_dir:
        for _ in range(args.rounds):
            for variant in ('without', 'with', 'skip'):
                runner = build_runner(cfg, variant, work_dir, args.iters)
                iteration_times: List[float] = []
                start = IterStart(iteration_times)
                # Around every other hook: first before, last after.
                runner._hooks.insert(0, start)
                runner._hooks.append(IterEnd(start))
                for hook in runner.hooks:
                    name = type(hook).__name__
                    if name in RELIABILITY_HOOKS:
                        for method in ('before_train_iter',
                                       'after_train_iter'):
                            setattr(
                                hook, method,
                                _timed(
                                    getattr(hook, method), hook_time[variant],
                                    f'{name}.{method}'))
                runner.train()
                # The first iteration builds optimizer states: drop it.
                times[variant] += iteration_times[1:]
                rounds[variant].append(statistics.median(iteration_times[1:]))
                model = runner.model
                for hook in runner.hooks:
                    if type(hook).__name__ == 'CollapseRestartHook':
                        start = time.perf_counter()
                        hook._train_areas(runner, model.num_regions)
                        collapse_checks.append(time.perf_counter() - start)
                    if isinstance(hook, CheckpointHook):
                        start = time.perf_counter()
                        hook._save_checkpoint_with_step(runner, 1, None)
                        saves[type(hook).__name__].append(time.perf_counter() -
                                                          start)

    base = statistics.median(times['without'])
    print(f'config {args.config}, {args.iters} iterations x {args.rounds} '
          f'rounds per variant, {args.threads} thread(s)')
    for variant in ('without', 'with', 'skip'):
        median = statistics.median(times[variant])
        per_round = ', '.join(f'{t * 1e3:.0f}' for t in rounds[variant])
        print(f'  {variant:8s} median iteration {median * 1e3:8.2f} ms '
              f'({(median / base - 1) * 100:+.1f}% vs without; '
              f'n={len(times[variant])}; per round: {per_round} ms)')
    for variant in ('with', 'skip'):
        n = args.iters * args.rounds
        for name, total in sorted(hook_time[variant].items()):
            print(f'  [{variant}] {name:42s} {total / n * 1e3:7.3f} ms/iter '
                  f'({total / n / base * 100:.2f}% of an iteration)')
    if collapse_checks:
        print(f'  CollapseRestartHook check (train areas only), per check: '
              f'{statistics.median(collapse_checks) * 1e3:.3f} ms')
    for name, values in saves.items():
        print(f'  {name} save: {statistics.median(values) * 1e3:.1f} ms')


if __name__ == '__main__':
    main()
