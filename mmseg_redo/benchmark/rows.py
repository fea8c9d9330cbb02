"""Rows of the benchmark table, each scored by mmseg's Runner test loop.

A row names a config, and optionally checkpoints; it is scored with the
config's own dataloader and evaluators (``IoUMetric`` and ``ReDOMetric``),
so every number of the table is measured by the same code. The rows come
from a YAML (or JSON) file: a list of entries, or a mapping with ``rows``
(and optionally ``dataset``, ``collection``)::

    dataset: Flowers-17
    rows:
      - name: ReDO (CPU, 64x64)
        config: configs/redo/redo_flowers17_cpu.py
        checkpoint: work_dirs/redo_flowers17_cpu/best_mIoU_iter_*.pth
        labels: none
        train_time: auto        # or a text such as '28 min', or null
        device: 2 CPU cores
        notes: trained on train.txt images only
      - name: GrabCut (centred box)
        config: configs/baselines/grabcut_flowers17-64x64.py
        labels: none            # no checkpoint: nothing is trained

``checkpoint`` may be a glob (the newest match is used), or a list of them,
one per run (seeds): the row then shows the mean over the runs and each
run's object IoU; ``seeds`` (a list, one per run) records which seed each
run was trained with. ``train_time: auto`` adds up the training iterations'
times logged in the checkpoint's work dir (``*/vis_data/scalars.json``),
validation excluded; a number is minutes. Two keys serve ablations of a
run's own checkpoints: ``select: val`` scores every checkpoint the glob
matches on the validation split and keeps the best (by object IoU) for the
table's split, and ``weights: raw`` scores the raw weights a checkpoint
saved beside the EMA ones (``ema_state_dict``), i.e. the same run without
the average.

A row with ``masks`` instead is a folder of masks written at the photo's
size, scored without a model (:mod:`.mask_rows`).
"""
import copy
import glob
import os.path as osp
import tempfile
import uuid
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional

import torch
import yaml
from mmengine.config import Config
from mmengine.runner import Runner

from ..utils import unwrap_model
from .run_logs import (curve_summary, estimate_train_time, format_duration,
                       validation_curve)


def evaluate_config(cfg: Config,
                    split: str = 'test',
                    work_dir: Optional[str] = None,
                    checkpoint: Optional[str] = None,
                    return_runner: bool = False) -> Any:
    """Score a config (and checkpoint) with mmseg's Runner test loop.

    The config's own dataloader and evaluators of ``split`` are used, so
    every row of the table is scored by the same code.

    Args:
        cfg (Config): The config; not modified.
        split (str): ``'test'`` or ``'val'``. Defaults to ``'test'``.
        work_dir (str, optional): Where the runner logs. Defaults to a
            temporary folder, removed afterwards.
        checkpoint (str, optional): Weights to load. Defaults to None.
        return_runner (bool): Also return the runner (to inspect the
            model). Defaults to False.

    Returns:
        dict[str, float] | tuple[dict, Runner]: The evaluators' metrics.
    """
    if split not in ('test', 'val'):
        raise ValueError(f"split must be 'test' or 'val', got {split!r}")
    cfg = copy.deepcopy(cfg)
    if split == 'val':
        cfg.test_dataloader = cfg.val_dataloader
        cfg.test_evaluator = cfg.val_evaluator
    cfg.load_from = checkpoint
    cfg.resume = False
    cfg.launcher = 'none'
    # A test-only runner: nothing of training or validation is built (the
    # Runner wants their parts all set or all None).
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'val_dataloader', 'val_cfg',
                'val_evaluator'):
        cfg[key] = None
    # Several runners in one process (one per row) must not share mmengine's
    # named instances: the logger and message hub (named after config and
    # timestamp, the same within one second) and the visualizer (built by
    # name, it would keep the first row's, now deleted, log folder).
    cfg.experiment_name = f'benchmark_{uuid.uuid4().hex[:8]}'
    if cfg.get('visualizer'):
        cfg.visualizer.name = f'{cfg.experiment_name}_visualizer'
    with tempfile.TemporaryDirectory() as tmp:
        cfg.work_dir = work_dir or tmp
        runner = Runner.from_cfg(cfg)
        metrics = {k: float(v) for k, v in runner.test().items()}
    return (metrics, runner) if return_runner else metrics


def count_parameters(model) -> Dict[str, int]:
    """Parameters used to segment at test time, and all trained ones.

    For ReDO only the mask network segments (the generators, discriminator
    and z-encoder serve training); other models use all their parameters.

    Args:
        model (nn.Module): The model (unwrapped).

    Returns:
        dict[str, int]: ``inference`` and ``total``.
    """
    total = sum(p.numel() for p in model.parameters())
    seg = getattr(model, 'mask_net', model)
    return dict(
        inference=sum(p.numel() for p in seg.parameters()), total=total)


def checkpoint_patterns(row: Dict[str, Any]) -> List[Optional[str]]:
    """A row's checkpoint globs, one per run (``[None]``: no checkpoint)."""
    patterns = row.get('checkpoint')
    return patterns if isinstance(patterns, list) else [patterns]


def missing_checkpoints(row: Dict[str, Any]) -> List[str]:
    """The row's checkpoint globs that match no file (yet)."""
    return [p for p in checkpoint_patterns(row) if p and not glob.glob(p)]


def resolve_checkpoint(pattern: Optional[str]) -> Optional[str]:
    """The checkpoint a row names: a path, or the newest match of a glob."""
    if not pattern:
        return None
    matches = sorted(glob.glob(pattern), key=osp.getmtime)
    if not matches:
        raise FileNotFoundError(
            f'no checkpoint matches {pattern!r}; train the row first (see '
            'configs/redo/README.md for the commands)')
    return matches[-1]


def row_config(row: Dict[str, Any],
               cfg_options: Optional[dict] = None) -> Config:
    """The row's config with the row's and then the command's overrides."""
    cfg = Config.fromfile(row['config'])
    if row.get('cfg_options'):
        cfg.merge_from_dict(row['cfg_options'])
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def _split_loader(cfg: Config, split: str) -> Config:
    return cfg.test_dataloader if split == 'test' else cfg.val_dataloader


def missing_inputs(row: Dict[str, Any],
                   split: str,
                   cfg_options: Optional[dict] = None) -> List[str]:
    """What scoring the row needs and this machine lacks.

    Its checkpoints (globs that match no file) and its split's data root.

    Args:
        row (dict): An entry of the rows file (not a masks row).
        split (str): ``'test'`` or ``'val'``.
        cfg_options (dict, optional): Overrides applied to every row.

    Returns:
        list[str]: One line per missing input; empty when it can be scored.
    """
    missing = [f'no checkpoint matches {p}' for p in missing_checkpoints(row)]
    root = _split_loader(row_config(row, cfg_options),
                         split).dataset.get('data_root')
    if root and not osp.isdir(root):
        missing.append(f'no data at {root}')
    return missing


def input_size(cfg: Config, split: str) -> str:
    """The scored crop (``'64x64'``) from the split's pipeline."""
    loader = _split_loader(cfg, split)
    for transform in loader.dataset.get('pipeline', []):
        if transform.get('type') == 'CenterCrop':
            size = transform['crop_size']
            h, w = (size, size) if isinstance(size, int) else size
            return f'{h}x{w}'
    size = loader.dataset.get('size') or cfg.get('img_size')
    return f'{size}x{size}' if size else 'original'


def is_mask_row(row: Dict[str, Any]) -> bool:
    """Whether the row is a folder of written masks (:mod:`.mask_rows`)."""
    return 'masks' in row


def load_entries(path: str) -> Dict[str, Any]:
    """Read the rows file (YAML or JSON); check every row is complete.

    A row needs a ``name`` and a ``config``, or (a masks row) a ``name``,
    ``masks`` and ``gt_dir``.

    Returns:
        dict: ``rows`` (list of dicts) and the file's other keys.
    """
    with open(path) as f:
        data = yaml.safe_load(f)  # JSON is YAML too
    if isinstance(data, list):
        data = dict(rows=data)
    rows = data.get('rows') if isinstance(data, dict) else None
    if not rows:
        raise ValueError(f'{path} lists no rows (a list, or a mapping with '
                         '"rows")')
    for i, row in enumerate(rows):
        required = ('name', 'masks',
                    'gt_dir') if is_mask_row(row) else ('name', 'config')
        missing = [k for k in required if not row.get(k)]
        if missing:
            raise ValueError(f'row {i} of {path} has no {missing}')
    return data


def mean_metrics(runs: List[Dict[str, Any]]) -> Dict[str, float]:
    """Each metric's mean over a row's runs."""
    return {
        key: sum(r['metrics'][key] for r in runs) / len(runs)
        for key in runs[0]['metrics']
    }


def run_seed(row: Dict[str, Any], index: int) -> Optional[int]:
    """The seed the row declares (``seeds``) for its run ``index``."""
    seeds = row.get('seeds')
    return seeds[index] if seeds else None


def train_time_text(row: Dict[str, Any],
                    seconds: List[Optional[float]]) -> str:
    """The row's training time as the table shows it.

    Args:
        row (dict): An entry of the rows file: ``train_time`` is ``auto``
            (the runs' logged times), minutes, a text, or absent (none).
        seconds (list[float | None]): Each run's logged training seconds.
    """
    train_time = row.get('train_time')
    if train_time == 'auto':
        if None in seconds:
            return 'unknown'
        per_run = ' per run' if len(seconds) > 1 else ''
        return (f'{format_duration(sum(seconds) / len(seconds))}{per_run} '
                '(logged train iters)')
    if isinstance(train_time, (int, float)):
        return format_duration(float(train_time) * 60)
    return str(train_time) if train_time else 'none'


def score_row(row: Dict[str, Any],
              split: str,
              cfg_options: Optional[dict] = None,
              work_dir: Optional[str] = None) -> Dict[str, Any]:
    """Score one row (each of its runs): what the results store keeps.

    Args:
        row (dict): An entry of the rows file.
        split (str): ``'test'`` or ``'val'``.
        cfg_options (dict, optional): Overrides applied to the row's config.
        work_dir (str, optional): Where the row's runners log.

    Returns:
        dict: ``metrics`` (the mean over runs), ``runs`` (each run's
        ``checkpoint``, ``seed``, ``metrics``, ``train_seconds`` and
        ``val_object_iou``: its best and last validation, from its logs),
        ``params``, ``train_time`` (text) and ``input``.
    """
    cfg = row_config(row, cfg_options)
    runs = []
    for i, pattern in enumerate(checkpoint_patterns(row)):
        checkpoint = _row_checkpoint(cfg, row, pattern)
        with _weights(checkpoint, row.get('weights', 'saved')) as path:
            metrics, runner = evaluate_config(
                cfg, split, work_dir, path, return_runner=True)
        run_dir = osp.dirname(checkpoint) if checkpoint else None
        runs.append(
            dict(
                checkpoint=checkpoint,
                seed=run_seed(row, i),
                metrics=metrics,
                train_seconds=estimate_train_time(run_dir)
                if run_dir else None,
                val_object_iou=curve_summary(validation_curve(run_dir))
                if run_dir else None))
    return dict(
        metrics=mean_metrics(runs),
        runs=runs,
        params=count_parameters(unwrap_model(runner.model)),
        train_time=train_time_text(row, [r['train_seconds'] for r in runs]),
        input=row.get('input') or input_size(cfg, split))


def _row_checkpoint(cfg: Config, row: Dict[str, Any],
                    pattern: Optional[str]) -> Optional[str]:
    """The checkpoint of one run: the newest match, or the best on val."""
    if row.get('select', 'newest') == 'newest':
        return resolve_checkpoint(pattern)
    if row['select'] != 'val':
        raise ValueError(f"row {row['name']!r}: select must be 'newest' or "
                         f"'val', got {row['select']!r}")
    resolve_checkpoint(pattern)  # a clear error when nothing matches
    scores = {}
    for path in sorted(glob.glob(pattern)):
        with _weights(path, row.get('weights', 'saved')) as weights:
            scores[path] = evaluate_config(cfg, 'val', None,
                                           weights)['object_iou']
    return max(scores, key=scores.get)


@contextmanager
def _weights(checkpoint: Optional[str], which: str) -> Iterator[str]:
    """A checkpoint path holding the ``saved`` or the ``raw`` weights.

    With an EMA hook, mmengine saves the averaged weights as
    ``state_dict`` and the raw ones as ``ema_state_dict`` (keys prefixed
    with ``module.``); ``raw`` writes the latter into a temporary
    checkpoint.
    """
    if which == 'saved' or checkpoint is None:
        yield checkpoint
        return
    if which != 'raw':
        raise ValueError(f"weights must be 'saved' or 'raw', got {which!r}")
    saved = torch.load(checkpoint, map_location='cpu', weights_only=True)
    if 'ema_state_dict' not in saved:
        raise ValueError(f'{checkpoint} holds no ema_state_dict: it was not '
                         'trained with an EMA hook, so it has no raw weights '
                         'apart from its state_dict')
    raw = {
        key[len('module.'):]: value
        for key, value in saved['ema_state_dict'].items()
        if key.startswith('module.')
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'raw.pth')
        torch.save(dict(state_dict=raw, meta=saved.get('meta', {})), path)
        yield path
