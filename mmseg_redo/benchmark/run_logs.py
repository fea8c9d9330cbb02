"""What a run's logs tell the benchmark table: training time, val curve.

Both read mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json``
(``LocalVisBackend``): one record per logged training iteration (with
``iter`` and the mean iteration ``time``) and one per validation (the
metrics and ``step``, the iteration). A resumed run has one timestamp
folder per start; they are read in order.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional, Tuple


def scalars_files(work_dir: str) -> List[str]:
    """Every ``*/vis_data/scalars.json`` of a run, oldest first."""
    return sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))


def estimate_train_time(work_dir: str) -> Optional[float]:
    """Seconds spent in training iterations, from the run's scalar logs.

    mmengine's ``scalars.json`` logs, every logger interval, the mean
    iteration time over that interval; their sum weighted by the iterations
    they cover is the time of the training iterations (validation and
    checkpointing excluded). Resumed runs (several timestamp folders) are
    added up, iterations counted once.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        float | None: Seconds, None when no log is found.
    """
    files = scalars_files(work_dir)
    if not files:
        return None
    covered: Dict[int, float] = {}
    for path in files:
        last_iter = None
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'iter' not in record or 'time' not in record:
                    continue  # validation records have no 'iter'
                it = int(record['iter'])
                if last_iter is None or it <= last_iter:
                    # First record of a (resumed) run: assume it covers
                    # the logger interval up to it, as later ones do.
                    last_iter = max(it - _first_interval(path), 0)
                for i in range(last_iter + 1, it + 1):
                    covered[i] = float(record['time'])
                last_iter = it
    return sum(covered.values()) if covered else None


def _first_interval(path: str) -> int:
    """Iterations between the first two training records of a log."""
    iters = []
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if 'iter' in record and 'time' in record:
                iters.append(int(record['iter']))
            if len(iters) == 2:
                return max(iters[1] - iters[0], 1)
    return iters[0] if iters else 1


def validation_curve(work_dir: str) -> List[Tuple[int, float]]:
    """``(iteration, object IoU)`` of every validation logged in a run."""
    curve = {}
    for path in scalars_files(work_dir):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'object_iou' in record and 'step' in record:
                    curve[int(record['step'])] = float(record['object_iou'])
    return sorted(curve.items())


def curve_summary(
        curve: List[Tuple[int, float]]) -> Optional[Dict[str, float]]:
    """A validation curve's best value, its iteration and the last value.

    Args:
        curve (list[tuple[int, float]]): :func:`validation_curve`'s output.

    Returns:
        dict | None: ``best``, ``best_iter`` and ``last``; None for an empty
        curve.
    """
    if not curve:
        return None
    step, best = max(curve, key=lambda c: c[1])
    return dict(best=best, best_iter=step, last=curve[-1][1])


def format_duration(seconds: Optional[float]) -> str:
    """``'1 h 05 min'``, ``'12 min'`` or ``'40 s'``."""
    if seconds is None:
        return 'unknown'
    if seconds < 60:
        return f'{seconds:.0f} s'
    minutes = seconds / 60
    if minutes < 60:
        return f'{minutes:.0f} min'
    return f'{int(minutes // 60)} h {int(minutes % 60):02d} min'
