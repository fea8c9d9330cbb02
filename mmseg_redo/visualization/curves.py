"""Validation scores and training losses of runs against iteration.

Reads the ``vis_data/scalars.json`` that mmengine's ``LocalVisBackend``
writes (one JSON record per logged training iteration, with ``iter``, and
one per validation, without it). :func:`plot_curves` draws one run's
validation object IoU and mIoU (and, when logged, the reference's
best-of-2 IoU and ``LabelFreeMaskScore``'s ``label_free_score``, dashed,
to set the label-free checkpoint choice against the true IoU) beside every
training loss (keys containing ``loss``); :func:`plot_comparison` one
validation score of several runs.

The figures are drawn with matplotlib's object API, without ``pyplot``, so
importing this module selects no backend and needs no display.
"""
import glob
import json
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

from matplotlib.figure import Figure

Series = Dict[str, Tuple[List[int], List[float]]]
#: Validation scores drawn, and how to bring them to [0, 1]: mmseg's
#: IoUMetric logs percentages, ReDOMetric fractions.
VAL_KEYS = {
    'object_iou': ('object IoU', 1.0),
    'mIoU': ('mIoU', 0.01),
    'redo_iou_best_of_2': ('best-of-2 IoU (ref.)', 1.0),
    'label_free_score': ('label-free score (no labels)', 1.0),
}
#: Scores computed without labels: drawn dashed.
LABEL_FREE_KEYS = ('label_free_score', )


def find_scalars(path: str) -> List[str]:
    """The scalars files of a run, oldest first.

    Args:
        path (str): A ``scalars.json`` file, or a work dir (every
            ``<timestamp>/vis_data/scalars.json`` in it is used, so a
            resumed run is drawn whole).

    Returns:
        list[str]: The files.
    """
    if osp.isfile(path):
        return [path]
    files = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json in {path}: give a work dir of a '
            'run logged with LocalVisBackend, or the json file itself')
    return files


def read_scalars(files: List[str]) -> Tuple[Series, Series]:
    """Training and validation series from scalars files.

    Later files win where iterations repeat (a resumed run).

    Args:
        files (list[str]): The files, oldest first (:func:`find_scalars`).

    Returns:
        tuple[dict, dict]: ``{key: (iterations, values)}`` for training
        (loss keys) and validation (:data:`VAL_KEYS`).
    """
    train: Dict[str, Dict[int, float]] = defaultdict(dict)
    val: Dict[str, Dict[int, float]] = defaultdict(dict)
    for path in files:
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'iter' in record:  # a training record
                    for key, value in record.items():
                        # ReDO's loss_gan..., mmseg's loss, decode.loss_ce
                        if 'loss' in key:
                            train[key][int(record['iter'])] = float(value)
                else:  # validation: 'step' is the training iteration
                    for key, (_, scale) in VAL_KEYS.items():
                        if key in record:
                            val[key][int(
                                record['step'])] = float(record[key]) * scale

    def series(data: Dict[str, Dict[int, float]]) -> Series:
        return {
            key: (sorted(points), [points[i] for i in sorted(points)])
            for key, points in data.items()
        }

    return series(train), series(val)


def plot_curves(train: Series,
                val: Series,
                out: str,
                title: Optional[str] = None) -> None:
    """Draw one run's two panels into ``out`` (PNG).

    Args:
        train (dict): Training losses, see :func:`read_scalars`.
        val (dict): Validation scores, see :func:`read_scalars`.
        out (str): Output file.
        title (str, optional): Figure title.
    """
    fig = Figure(figsize=(12, 4.5), constrained_layout=True)
    ax_val, ax_loss = fig.subplots(1, 2)
    for key, (iters, values) in val.items():
        ax_val.plot(
            iters,
            values,
            marker='o',
            linestyle='--' if key in LABEL_FREE_KEYS else '-',
            label=VAL_KEYS[key][0])
    ax_val.set(
        xlabel='iteration', ylabel='validation score', title='validation')
    ax_val.set_ylim(0, 1)
    for key, (iters, values) in sorted(train.items()):
        ax_loss.plot(iters, values, label=key, linewidth=1)
    ax_loss.set(xlabel='iteration', ylabel='loss', title='training losses')
    for ax in (ax_val, ax_loss):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        else:
            ax.text(
                0.5,
                0.5,
                'nothing logged',
                ha='center',
                transform=ax.transAxes)
    if title:
        fig.suptitle(title)
    fig.savefig(out, dpi=100)


def plot_comparison(runs: Dict[str, Series],
                    out: str,
                    key: str = 'object_iou',
                    title: Optional[str] = None) -> None:
    """One validation score of several runs in one panel (``out``, PNG).

    Args:
        runs (dict): Label -> validation series (:func:`read_scalars`).
        out (str): Output file.
        key (str): The score, a key of :data:`VAL_KEYS`.
        title (str, optional): Figure title.
    """
    fig = Figure(figsize=(7, 4.5), constrained_layout=True)
    ax = fig.subplots()
    for label, val in runs.items():
        if key in val:
            ax.plot(*val[key], marker='o', markersize=3, label=label)
    ax.set(
        xlabel='iteration',
        ylabel=f'validation {VAL_KEYS[key][0]}',
        title=title or f'validation {VAL_KEYS[key][0]}')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(out, dpi=100)
