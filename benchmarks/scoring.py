"""Scoring the rows of a rows file: configs with checkpoints, or mask folders.

A rows file (``benchmarks/rows/*.yaml``) is a mapping with ``dataset``,
``results`` (its store), ``rows``, and optionally ``split`` (``test`` or
``val``; ``test``), ``collection`` (``ReDO``) and ``outputs`` (see
:mod:`benchmarks.results`). A *model row* names a config and optionally
checkpoints, and is scored by mmseg's Runner test loop with the split's
dataloader and evaluators of the config::

    - name: ReDO, small-data recipe, seeds 0, 1, 2
      config: configs/redo/redo_flowers17_small_data_cpu.py
      cfg_options: {model.test_cfg.guided_filter.radius: 16}  # optional
      checkpoint:            # a glob (newest match), or one per run
        - work_dirs/redo_flowers17_small_data_cpu_seed0/best_mIoU_iter_*.pth
      seeds: [0]             # which seed each run was trained with
      select: val            # optional: the checkpoint best on val
      weights: raw           # optional: the EMA run's raw weights
      train_time: auto       # logged train iterations, or a text
      labels: none
      device: 1 CPU thread
      notes: ...

A *masks row* names folders of masks that ``tools/segment_folder.py``
wrote at each photo's size (one per run), scored without a model against
``gt_dir`` (``ids``: the split's list; ``rule``: see
``mmseg_redo.datasets.mask_rules``). :func:`score_row` returns what the
results store keeps for either kind.
"""
import copy
import glob
import json
import os.path as osp
import tempfile
import uuid
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
import yaml
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg_redo.evaluation.mask_folder import read_ids, score_mask_folder
from mmseg_redo.utils import unwrap_model

Row = Dict[str, Any]


def is_mask_row(row: Row) -> bool:
    """Whether the row is folders of written masks rather than a model."""
    return 'masks' in row


def load_entries(path: str) -> Row:
    """Read a rows file, check it is complete and fill in its defaults."""
    with open(path) as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict) or not all(
            data.get(k) for k in ('dataset', 'results', 'rows')):
        raise ValueError(f'{path} is not a mapping with "dataset", '
                         '"results" and "rows"')
    data.setdefault('collection', 'ReDO')
    if data.setdefault('split', 'test') not in ('test', 'val'):
        raise ValueError(f"{path}: split must be 'test' or 'val'")
    for i, row in enumerate(data['rows']):
        required = ('name', 'masks',
                    'gt_dir') if is_mask_row(row) else ('name', 'config')
        missing = [k for k in required if not row.get(k)]
        if missing:
            raise ValueError(f'row {i} of {path} has no {missing}')
    return data


def row_config(row: Row) -> Config:
    """The row's config with the row's overrides."""
    cfg = Config.fromfile(row['config'])
    cfg.merge_from_dict(row.get('cfg_options') or {})
    return cfg


def _listed(row: Row, key: str) -> List[Any]:
    """A row's ``checkpoint`` or ``masks``: one per run (``[None]``: none)."""
    value = row.get(key)
    return value if isinstance(value, list) else [value]


def missing_inputs(row: Row, split: str) -> List[str]:
    """What scoring the row needs and this machine lacks (one line each)."""
    if is_mask_row(row):
        paths = _listed(row, 'masks') + [row['gt_dir']] + (
            [row['ids']] if row.get('ids') else [])
        return [f'no {path}' for path in paths if not osp.exists(path)]
    missing = [
        f'no checkpoint matches {p}' for p in _listed(row, 'checkpoint')
        if p and not glob.glob(p)
    ]
    root = row_config(row)[f'{split}_dataloader'].dataset.get('data_root')
    if root and not osp.isdir(root):
        missing.append(f'no data at {root}')
    return missing


def evaluate_config(cfg: Config,
                    split: str = 'test',
                    checkpoint: Optional[str] = None
                    ) -> Tuple[Dict[str, float], Dict[str, int]]:
    """Score a config (and checkpoint) with mmseg's Runner test loop, its
    logs in a temporary folder.

    Args:
        cfg (Config): The config; not modified.
        split (str): ``'test'`` or ``'val'``: whose dataloader and
            evaluators to use.
        checkpoint (str, optional): Weights to load.

    Returns:
        tuple[dict[str, float], dict[str, int]]: The metrics, and the
        parameters used to segment (ReDO: its mask network only) and in all.
    """
    cfg = copy.deepcopy(cfg)
    cfg.test_dataloader = cfg[f'{split}_dataloader']
    cfg.test_evaluator = cfg[f'{split}_evaluator']
    cfg.load_from, cfg.resume, cfg.launcher = checkpoint, False, 'none'
    # A test-only runner: the Runner wants training's and validation's
    # parts all set or all None.
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'val_dataloader', 'val_cfg',
                'val_evaluator'):
        cfg[key] = None
    # Runners in one process must not share mmengine's named instances
    # (logger, message hub and visualizer are looked up by name).
    cfg.experiment_name = f'benchmark_{uuid.uuid4().hex[:8]}'
    if cfg.get('visualizer'):
        cfg.visualizer.name = f'{cfg.experiment_name}_visualizer'
    with tempfile.TemporaryDirectory() as tmp:
        cfg.work_dir = tmp
        runner = Runner.from_cfg(cfg)
        metrics = {k: float(v) for k, v in runner.test().items()}
    model = unwrap_model(runner.model)
    segmenter = getattr(model, 'mask_net', model)
    return metrics, dict(
        inference=sum(p.numel() for p in segmenter.parameters()),
        total=sum(p.numel() for p in model.parameters()))


def input_size(cfg: Config, split: str) -> str:
    """The scored crop (``'64x64'``), from the split's pipeline."""
    dataset = cfg[f'{split}_dataloader'].dataset
    for transform in dataset.get('pipeline', []):
        if transform.get('type') == 'CenterCrop':
            size = transform['crop_size']
            h, w = (size, size) if isinstance(size, int) else size
            return f'{h}x{w}'
    size = dataset.get('size') or cfg.get('img_size')
    return f'{size}x{size}' if size else 'original'


def _log_records(run_dir: str) -> List[List[dict]]:
    """The records of each ``*/vis_data/scalars.json`` of a run, oldest
    first (a resumed run has one timestamp folder per start)."""
    records = []
    for path in sorted(
            glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records.append([json.loads(line) for line in f if line.strip()])
    return records


def estimate_train_time(run_dir: str) -> Optional[float]:
    """Seconds of training iterations logged in a run (None: no log).

    mmengine logs, every logger interval, the mean iteration time over it;
    weighted by the iterations each covers, they add up to the training
    time without validation. Iterations run again after a resume count
    once (the later time).
    """
    covered: Dict[int, float] = {}
    for records in _log_records(run_dir):
        train = [(int(r['iter']), float(r['time'])) for r in records
                 if 'iter' in r and 'time' in r]
        if not train:
            continue  # validation records have no 'iter'
        # A first record (of a start) covers one logger interval, as the
        # later ones do.
        interval = max(train[1][0] - train[0][0],
                       1) if len(train) > 1 else train[0][0]
        last = None
        for it, seconds in train:
            if last is None or it <= last:
                last = max(it - interval, 0)
            covered.update({i: seconds for i in range(last + 1, it + 1)})
            last = it
    return sum(covered.values()) if covered else None


def validation_summary(run_dir: str) -> Optional[Dict[str, float]]:
    """A run's best logged validation object IoU, its iteration and the
    last; None without validations."""
    curve = {
        int(r['step']): float(r['object_iou'])
        for records in _log_records(run_dir) for r in records
        if 'object_iou' in r and 'step' in r
    }
    if not curve:
        return None
    best = max(curve, key=curve.get)
    return dict(best=curve[best], best_iter=best, last=curve[max(curve)])


def format_duration(seconds: float) -> str:
    """``'1 h 05 min'``, ``'12 min'`` or ``'40 s'``."""
    if seconds < 60:
        return f'{seconds:.0f} s'
    minutes = seconds / 60
    if minutes < 60:
        return f'{minutes:.0f} min'
    return f'{int(minutes // 60)} h {int(minutes % 60):02d} min'


def train_time_text(row: Row, seconds: List[Optional[float]]) -> str:
    """The row's training time as tables show it: ``train_time: auto``
    (the runs' logged seconds), a text, or none."""
    train_time = row.get('train_time')
    if train_time != 'auto':
        return str(train_time) if train_time else 'none'
    if None in seconds:
        return 'unknown'
    per_run = ' per run' if len(seconds) > 1 else ''
    return (f'{format_duration(sum(seconds) / len(seconds))}{per_run} '
            '(logged train iters)')


def checkpoint_matches(pattern: str) -> List[str]:
    """A checkpoint glob's matches, oldest first (at least one).

    Raises:
        FileNotFoundError: Nothing matches.
    """
    matches = sorted(glob.glob(pattern), key=osp.getmtime)
    if not matches:
        raise FileNotFoundError(f'no checkpoint matches {pattern!r}')
    return matches


def _checkpoint(cfg: Config, row: Row, pattern: Optional[str]) -> Optional[str]:
    """One run's checkpoint: the glob's newest match, or its best on val."""
    if not pattern:
        return None
    matches = checkpoint_matches(pattern)
    if row.get('select', 'newest') == 'newest':
        return matches[-1]
    if row['select'] != 'val':
        raise ValueError(f"row {row['name']!r}: select must be 'newest' or "
                         f"'val', got {row['select']!r}")
    scores = {}
    for path in sorted(matches):
        with _weights(path, row.get('weights', 'saved')) as weights:
            scores[path] = evaluate_config(cfg, 'val',
                                           weights)[0]['object_iou']
    return max(scores, key=scores.get)


@contextmanager
def _weights(checkpoint: Optional[str], which: str) -> Iterator[str]:
    """A checkpoint path holding the ``saved`` or the ``raw`` weights.

    With an EMA hook, mmengine saves the averaged weights as ``state_dict``
    and the raw ones as ``ema_state_dict`` (``module.``-prefixed): ``raw``
    scores the run as it would be without the average.
    """
    if which == 'saved' or checkpoint is None:
        yield checkpoint
        return
    if which != 'raw':
        raise ValueError(f"weights must be 'saved' or 'raw', got {which!r}")
    saved = torch.load(checkpoint, map_location='cpu', weights_only=True)
    if 'ema_state_dict' not in saved:
        raise ValueError(f'{checkpoint} holds no ema_state_dict: it was not '
                         'trained with an EMA hook')
    raw = {
        key[len('module.'):]: value
        for key, value in saved['ema_state_dict'].items()
        if key.startswith('module.')
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'raw.pth')
        torch.save(dict(state_dict=raw, meta=saved.get('meta', {})), path)
        yield path


def _mean(runs: List[Row]) -> Dict[str, float]:
    return {
        key: sum(r['metrics'][key] for r in runs) / len(runs)
        for key in runs[0]['metrics']
    }


def _seed(row: Row, index: int) -> Optional[int]:
    return row['seeds'][index] if row.get('seeds') else None


def score_row(row: Row, split: str) -> Row:
    """Score each run of a row: what the results store keeps of it.

    Args:
        row (dict): A row of the rows file (a model or a masks row).
        split (str): ``'test'`` or ``'val'`` (model rows).

    Returns:
        dict: ``metrics`` (the mean over runs), ``runs`` (each run's
        ``checkpoint`` or ``masks``, ``seed`` and ``metrics``; a model
        run's logged ``train_seconds`` and ``val_object_iou``, a masks
        run's ``images``), ``params`` (None for masks), ``train_time``
        (text) and ``input``.
    """
    if is_mask_row(row):
        return _score_masks(row)
    cfg = row_config(row)
    runs, params = [], None
    for i, pattern in enumerate(_listed(row, 'checkpoint')):
        checkpoint = _checkpoint(cfg, row, pattern)
        with _weights(checkpoint, row.get('weights', 'saved')) as path:
            metrics, params = evaluate_config(cfg, split, path)
        run_dir = osp.dirname(checkpoint) if checkpoint else None
        runs.append(dict(
            checkpoint=checkpoint,
            seed=_seed(row, i),
            metrics=metrics,
            train_seconds=estimate_train_time(run_dir) if run_dir else None,
            val_object_iou=validation_summary(run_dir) if run_dir else None))
    return dict(
        metrics=_mean(runs), runs=runs, params=params,
        train_time=train_time_text(row, [r['train_seconds'] for r in runs]),
        input=input_size(cfg, split))


def _score_masks(row: Row) -> Row:
    """Score each folder of a masks row against the true masks: the
    dataset-level object IoU and the mean per-image IoU."""
    ids = read_ids(row['ids']) if row.get('ids') else None
    runs = []
    for i, folder in enumerate(_listed(row, 'masks')):
        # segment_folder's --out holds masks/ beside cutouts/.
        written = osp.join(folder, 'masks')
        scores = score_mask_folder(
            written if osp.isdir(written) else folder, row['gt_dir'], ids,
            row.get('rule', 'label'))
        runs.append(dict(
            masks=folder, seed=_seed(row, i), images=scores['images'],
            metrics={k: scores[k] for k in ('object_iou', 'mean_image_iou')}))
    return dict(metrics=_mean(runs), runs=runs, params=None,
                train_time=train_time_text(row, [None] * len(runs)),
                input="photo's size")
