"""Score a list of models on one split and write the benchmark table.

Every row is scored by mmseg's Runner test loop with its config's own
dataloader and evaluators (``IoUMetric`` and ``ReDOMetric``), so the table
holds only measured numbers: the markdown table goes into a README between
marker comments, and the same results into an mmseg-style metafile.

The rows come from a YAML (or JSON) file: a list of entries, or a mapping
with ``rows`` (and optionally ``dataset``, ``collection``)::

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
run's object IoU. ``train_time: auto`` adds up the training iterations'
times logged in the checkpoint's work dir (``*/vis_data/scalars.json``),
validation excluded. Two keys serve ablations of a run's own checkpoints:
``select: val`` scores every checkpoint the glob matches on the validation
split and keeps the best (by object IoU) for the table's split, and
``weights: raw`` scores the raw weights a checkpoint saved beside the EMA
ones (``ema_state_dict``), i.e. the same run without the average.

Example:
    python tools/benchmark_table.py configs/redo/benchmark_flowers17_cpu.yaml
"""
import argparse
import copy
import glob
import json
import os
import os.path as osp
import re
import tempfile
import uuid
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import yaml
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmseg_redo.utils import unwrap_model

TABLE_START = '<!-- benchmark-table:start -->'
TABLE_END = '<!-- benchmark-table:end -->'
#: Table columns: (header, function of a result row giving the cell).
COLUMNS = [
    'Method', 'Labels used', 'Object IoU', 'mIoU', 'Pixel acc.',
    'Best-of-2 IoU (ref.)', 'Best-of-2 acc. (ref.)',
    'Params (inference / total)', 'Training time', 'Input', 'Config', 'Notes'
]
#: Extra column of ``--curves``: the run's validation object IoU.
CURVE_COLUMN = 'Val object IoU: best (iter) / last'


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
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
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


def format_params(count: int) -> str:
    """Parameters as ``'26.0 k'``, ``'1.82 M'`` or ``'0'``."""
    if count == 0:
        return '0'
    return f'{count / 1e3:.1f} k' if count < 1e6 else f'{count / 1e6:.2f} M'


def input_size(cfg: Config, split: str) -> str:
    """The scored crop (``'64x64'``) from the split's pipeline."""
    loader = cfg.test_dataloader if split == 'test' else cfg.val_dataloader
    for transform in loader.dataset.get('pipeline', []):
        if transform.get('type') == 'CenterCrop':
            size = transform['crop_size']
            h, w = (size, size) if isinstance(size, int) else size
            return f'{h}x{w}'
    size = loader.dataset.get('size') or cfg.get('img_size')
    return f'{size}x{size}' if size else 'original'


def load_entries(path: str) -> Dict[str, Any]:
    """Read the rows file (YAML or JSON); check every row names a config.

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
        missing = [k for k in ('name', 'config') if not row.get(k)]
        if missing:
            raise ValueError(f'row {i} of {path} has no {missing}')
    return data


def score_row(row: Dict[str, Any],
              split: str,
              cfg_options: Optional[dict] = None,
              work_dir: Optional[str] = None) -> Dict[str, Any]:
    """Score one row (each of its runs) and gather what the table shows.

    Args:
        row (dict): An entry of the rows file.
        split (str): ``'test'`` or ``'val'``.
        cfg_options (dict, optional): Overrides applied to the row's config.
        work_dir (str, optional): Where the row's runners log.

    Returns:
        dict: The row with ``metrics`` (the mean over runs), ``runs`` (each
        run's ``checkpoint_path``, ``metrics``, ``train_seconds`` and
        ``val_curve``), ``params``, ``checkpoint_path`` (the first run's),
        ``train_time_text`` and ``input`` added.
    """
    cfg = Config.fromfile(row['config'])
    if row.get('cfg_options'):
        cfg.merge_from_dict(row['cfg_options'])
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    patterns = row.get('checkpoint')
    if not isinstance(patterns, list):
        patterns = [patterns]
    runs = []
    for pattern in patterns:
        checkpoint = _row_checkpoint(cfg, row, pattern)
        with _weights(checkpoint, row.get('weights', 'saved')) as path:
            metrics, runner = evaluate_config(
                cfg, split, work_dir, path, return_runner=True)
        run_dir = osp.dirname(checkpoint) if checkpoint else None
        runs.append(
            dict(
                checkpoint_path=checkpoint,
                metrics=metrics,
                train_seconds=estimate_train_time(run_dir)
                if run_dir else None,
                val_curve=validation_curve(run_dir) if run_dir else []))
    model = unwrap_model(runner.model)
    train_time = row.get('train_time')
    if train_time == 'auto':
        seconds = [r['train_seconds'] for r in runs]
        per_run = ' per run' if len(runs) > 1 else ''
        train_time = (
            f'{format_duration(sum(seconds) / len(seconds))}{per_run} '
            '(logged train iters)' if None not in seconds else 'unknown')
    elif isinstance(train_time, (int, float)):
        train_time = format_duration(float(train_time) * 60)
    return dict(
        row,
        metrics={
            key: sum(r['metrics'][key] for r in runs) / len(runs)
            for key in runs[0]['metrics']
        },
        runs=runs,
        params=count_parameters(model),
        checkpoint_path=runs[0]['checkpoint_path'],
        train_time_text=str(train_time) if train_time else 'none',
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


def validation_curve(work_dir: str) -> List[Tuple[int, float]]:
    """``(iteration, object IoU)`` of every validation logged in a run.

    Validation records of mmengine's ``scalars.json`` carry the metrics and
    ``step`` (the iteration); resumed runs' folders are read in order.
    """
    curve = {}
    for path in sorted(
            glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'object_iou' in record and 'step' in record:
                    curve[int(record['step'])] = float(record['object_iou'])
    return sorted(curve.items())


def _fraction(metrics: Dict[str, float],
              key: str,
              percent: bool = False) -> str:
    value = metrics.get(key)
    if value is None or value != value:  # absent or NaN
        return 'n/a'
    return f'{value / 100 if percent else value:.3f}'


def _object_iou_cell(result: Dict[str, Any]) -> str:
    """The mean object IoU, and each run's when there are several."""
    cell = _fraction(result['metrics'], 'object_iou')
    runs = result.get('runs', [])
    if len(runs) > 1:
        cell += ' (' + ', '.join(
            _fraction(r['metrics'], 'object_iou') for r in runs) + ')'
    return cell


def _curve_cell(result: Dict[str, Any]) -> str:
    """Each run's best validation object IoU (its iteration) and last."""
    cells = []
    for run in result.get('runs', []):
        if run['val_curve']:
            step, best = max(run['val_curve'], key=lambda c: c[1])
            cells.append(f"{best:.3f} ({step}) / {run['val_curve'][-1][1]:.3f}")
    return '; '.join(cells) or 'n/a'


def markdown_table(results: Sequence[Dict[str, Any]],
                   curves: bool = False) -> str:
    """The results as a markdown table (all scores as fractions).

    Args:
        results (Sequence[dict]): Outputs of :func:`score_row`.
        curves (bool): Add :data:`CURVE_COLUMN`. Defaults to False.

    Returns:
        str: The table, one line per row, with a trailing newline.
    """
    columns = COLUMNS + [CURVE_COLUMN] if curves else COLUMNS
    lines = [
        '| ' + ' | '.join(columns) + ' |',
        '|' + '|'.join('---' for _ in columns) + '|'
    ]
    for r in results:
        m = r['metrics']
        notes = '; '.join(
            str(x) for x in (r.get('device'), r.get('notes')) if x)
        cells = [
            r['name'],
            str(r.get('labels') or 'none'),
            _object_iou_cell(r),
            _fraction(m, 'mIoU', percent=True),
            _fraction(m, 'aAcc', percent=True),
            _fraction(m, 'redo_iou_best_of_2'),
            _fraction(m, 'redo_acc_best_of_2'),
            f"{format_params(r['params']['inference'])} / "
            f"{format_params(r['params']['total'])}",
            r['train_time_text'],
            r['input'],
            f"[{osp.basename(r['config'])}]"
            f"({_relative_link(r['config'])})",
            notes,
        ] + ([_curve_cell(r)] if curves else [])
        lines.append('| ' + ' | '.join(c.replace('|', '/')
                                       for c in cells) + ' |')
    return '\n'.join(lines) + '\n'


def _relative_link(config: str) -> str:
    """Link from configs/redo/README.md to ``config`` (a repo path)."""
    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    readme_dir = osp.join(repo, 'configs', 'redo')
    return osp.relpath(osp.abspath(config), readme_dir)


def write_readme_table(readme: str,
                       table: str,
                       preamble: str,
                       marker: str = 'benchmark-table') -> None:
    """Put ``preamble`` and ``table`` between the README's markers.

    Text outside the markers is kept; a README without markers gets them
    appended (a new README is created).

    Args:
        readme (str): Path of the README.
        table (str): The markdown table.
        preamble (str): Lines written above the table.
        marker (str): Name in the marker comments ``<!-- NAME:start -->``
            and ``<!-- NAME:end -->``, so one README can hold several
            tables. Defaults to ``'benchmark-table'``.
    """
    start, end = f'<!-- {marker}:start -->', f'<!-- {marker}:end -->'
    block = f'{start}\n{preamble}\n\n{table}{end}'
    text = open(readme).read() if osp.isfile(readme) else ''
    if start in text and end in text:
        text = re.sub(
            re.escape(start) + '.*?' + re.escape(end),
            lambda _: block,
            text,
            flags=re.S)
    else:
        text = text.rstrip('\n') + ('\n\n' if text else '') + block + '\n'
    os.makedirs(osp.dirname(osp.abspath(readme)), exist_ok=True)
    with open(readme, 'w') as f:
        f.write(text)


def metafile(results: Sequence[Dict[str, Any]], dataset: str, collection: str,
             readme: str) -> Dict[str, Any]:
    """The results in mmseg's metafile format (``configs/*/metafile.yaml``).

    Metrics are in percent, as in mmseg's metafiles.
    """
    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    models = []
    for r in results:
        m = r['metrics']
        metrics = {}
        for key, name in (('mIoU', 'mIoU'), ('aAcc', 'aAcc'),
                          ('object_iou', 'Object IoU'), ('redo_iou_best_of_2',
                                                         'Best-of-2 IoU'),
                          ('redo_acc_best_of_2', 'Best-of-2 Acc')):
            if key in m and m[key] == m[key]:
                value = m[key] if key in ('mIoU', 'aAcc') else 100 * m[key]
                metrics[name] = round(value, 2)
        models.append({
            'Name': r['name'],
            'In Collection': collection,
            'Results': {
                'Task': 'Semantic Segmentation',
                'Dataset': dataset,
                'Metrics': metrics
            },
            'Config': osp.relpath(osp.abspath(r['config']), repo),
            'Metadata': {
                'Training Data': dataset,
                'Labels Used': str(r.get('labels') or 'none'),
                'Training Time': r['train_time_text'],
                'Training Resources': str(r.get('device') or 'unknown'),
                'Crop Size': r['input'],
                'Parameters (inference)': r['params']['inference'],
                'Parameters (total)': r['params']['total'],
            },
            'Weights': r['checkpoint_path'],
        })
    return {
        'Collections': [{
            'Name': collection,
            'License': 'MIT',
            'Metadata': {
                'Training Data': [dataset]
            },
            'Paper': {
                'Title': 'Unsupervised Object Segmentation by Redrawing',
                'URL': 'https://arxiv.org/abs/1905.13539'
            },
            'README': osp.relpath(osp.abspath(readme), repo),
            'Frameworks': ['PyTorch'],
        }],
        'Models':
        models,
    }


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description='Score models on one split and write the table')
    parser.add_argument('entries', help='YAML/JSON file listing the rows')
    parser.add_argument(
        '--split',
        choices=['test', 'val'],
        default='test',
        help='which dataloader and evaluator of each config to use')
    parser.add_argument(
        '--readme',
        default='configs/redo/README.md',
        help='README whose table (between the marker comments) is replaced')
    parser.add_argument(
        '--marker',
        default='benchmark-table',
        help='the README block to replace: between <!-- MARKER:start --> '
        'and <!-- MARKER:end -->')
    parser.add_argument(
        '--metafile',
        default='configs/redo/metafile.yaml',
        help="mmseg-style metafile to write ('' for none)")
    parser.add_argument(
        '--curves',
        action='store_true',
        help="add a column with each run's best and last validation object "
        'IoU, from its logs')
    parser.add_argument(
        '--work-dir', help='where the runners log (default: temporary)')
    parser.add_argument(
        '--json-out', help='also dump every row and its metrics as JSON')
    parser.add_argument(
        '--skip-missing',
        action='store_true',
        help='leave out rows whose checkpoint does not exist yet (default: '
        'stop with an error)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides applied to every row\'s config, xxx=yyy format')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    """Score every row, write the README table and the metafile."""
    args = parse_args(argv)
    entries = load_entries(args.entries)
    results = []
    for i, row in enumerate(entries['rows']):
        work_dir = osp.join(args.work_dir, f'row_{i}') \
            if args.work_dir else None
        patterns = row.get('checkpoint') or []
        patterns = patterns if isinstance(patterns, list) else [patterns]
        missing = [p for p in patterns if not glob.glob(p)]
        if args.skip_missing and missing:
            print(f"skipping {row['name']}: no checkpoint matches "
                  f'{missing}')
            continue
        results.append(score_row(row, args.split, args.cfg_options, work_dir))
        print(f"{row['name']}: " +
              ', '.join(f'{k}={v:.4f}'
                        for k, v in results[-1]['metrics'].items()))
    if not results:
        raise SystemExit('no row could be scored (no checkpoint exists)')
    dataset = entries.get('dataset', 'Flowers-17')
    table = markdown_table(results, curves=args.curves)
    flags = [f'--split {args.split}']
    if args.marker != 'benchmark-table':
        flags.append(f'--marker {args.marker}')
    if not args.metafile:
        flags.append("--metafile ''")
    flags += [f'--{f.replace("_", "-")}' for f in ('skip_missing', 'curves')
              if getattr(args, f)]
    command = f'python tools/benchmark_table.py {args.entries} ' + ' '.join(
        flags)
    preamble = (
        f'{dataset}, `{args.split}` split; written by `{command}` (do not '
        'edit by hand). Object IoU: dataset-level '
        'IoU of the object class with the model\'s own mask-to-class '
        'assignment; mIoU and pixel accuracy: mmseg\'s IoUMetric '
        '(fractions here); best-of-2: the ReDO reference\'s per-image '
        'protocol (the better of the mask and its inverse, per image), '
        'which flatters. Ignore pixels are excluded everywhere.')
    write_readme_table(args.readme, table, preamble, args.marker)
    if args.metafile:
        with open(args.metafile, 'w') as f:
            yaml.safe_dump(
                metafile(results, dataset, entries.get('collection', 'ReDO'),
                         args.readme),
                f,
                sort_keys=False)
    if args.json_out:
        with open(args.json_out, 'w') as f:
            json.dump(results, f, indent=2, default=str)
    print(table)
    return results


if __name__ == '__main__':
    main()
