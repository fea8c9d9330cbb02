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

``checkpoint`` may be a glob (the newest match is used). ``train_time:
auto`` adds up the training iterations' times logged in the checkpoint's
work dir (``*/vis_data/scalars.json``), validation excluded.

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
import sys
import tempfile
import uuid
from typing import Any, Dict, List, Optional, Sequence

import yaml
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

# GrabCut rows: importing the tool registers GrabCutSegmentor.
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import grabcut_baseline  # noqa: E402,F401

TABLE_START = '<!-- benchmark-table:start -->'
TABLE_END = '<!-- benchmark-table:end -->'
#: Table columns: (header, function of a result row giving the cell).
COLUMNS = [
    'Method', 'Labels used', 'Object IoU', 'mIoU', 'Pixel acc.',
    'Best-of-2 IoU (ref.)', 'Best-of-2 acc. (ref.)',
    'Params (inference / total)', 'Training time', 'Input', 'Config', 'Notes'
]


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
    """Score one row and gather everything the table shows about it.

    Args:
        row (dict): An entry of the rows file.
        split (str): ``'test'`` or ``'val'``.
        cfg_options (dict, optional): Overrides applied to the row's config.
        work_dir (str, optional): Where the row's runner logs.

    Returns:
        dict: The row with ``metrics``, ``params``, ``checkpoint_path``,
        ``train_time_text`` and ``input`` added.
    """
    cfg = Config.fromfile(row['config'])
    if row.get('cfg_options'):
        cfg.merge_from_dict(row['cfg_options'])
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    checkpoint = resolve_checkpoint(row.get('checkpoint'))
    metrics, runner = evaluate_config(
        cfg, split, work_dir, checkpoint, return_runner=True)
    model = runner.model.module if hasattr(runner.model,
                                           'module') else runner.model
    train_time = row.get('train_time')
    if train_time == 'auto':
        seconds = estimate_train_time(osp.dirname(checkpoint)) \
            if checkpoint else None
        train_time = (f'{format_duration(seconds)} (logged train iters)'
                      if seconds is not None else 'unknown')
    elif isinstance(train_time, (int, float)):
        train_time = format_duration(float(train_time) * 60)
    return dict(
        row,
        metrics=metrics,
        params=count_parameters(model),
        checkpoint_path=checkpoint,
        train_time_text=str(train_time) if train_time else 'none',
        input=row.get('input') or input_size(cfg, split))


def _fraction(metrics: Dict[str, float],
              key: str,
              percent: bool = False) -> str:
    value = metrics.get(key)
    if value is None or value != value:  # absent or NaN
        return 'n/a'
    return f'{value / 100 if percent else value:.3f}'


def markdown_table(results: Sequence[Dict[str, Any]]) -> str:
    """The results as a markdown table (all scores as fractions).

    Args:
        results (Sequence[dict]): Outputs of :func:`score_row`.

    Returns:
        str: The table, one line per row, with a trailing newline.
    """
    lines = [
        '| ' + ' | '.join(COLUMNS) + ' |',
        '|' + '|'.join('---' for _ in COLUMNS) + '|'
    ]
    for r in results:
        m = r['metrics']
        notes = '; '.join(
            str(x) for x in (r.get('device'), r.get('notes')) if x)
        cells = [
            r['name'],
            str(r.get('labels') or 'none'),
            _fraction(m, 'object_iou'),
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
        ]
        lines.append('| ' + ' | '.join(c.replace('|', '/')
                                       for c in cells) + ' |')
    return '\n'.join(lines) + '\n'


def _relative_link(config: str) -> str:
    """Link from configs/redo/README.md to ``config`` (a repo path)."""
    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    readme_dir = osp.join(repo, 'configs', 'redo')
    return osp.relpath(osp.abspath(config), readme_dir)


def write_readme_table(readme: str, table: str, preamble: str) -> None:
    """Put ``preamble`` and ``table`` between the README's markers.

    Text outside the markers is kept; a README without markers gets them
    appended (a new README is created).

    Args:
        readme (str): Path of the README.
        table (str): The markdown table.
        preamble (str): Lines written above the table.
    """
    block = f'{TABLE_START}\n{preamble}\n\n{table}{TABLE_END}'
    text = open(readme).read() if osp.isfile(readme) else ''
    if TABLE_START in text and TABLE_END in text:
        text = re.sub(
            re.escape(TABLE_START) + '.*?' + re.escape(TABLE_END),
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
        '--metafile',
        default='configs/redo/metafile.yaml',
        help='mmseg-style metafile to write')
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
        if args.skip_missing and row.get('checkpoint') and not glob.glob(
                row['checkpoint']):
            print(f"skipping {row['name']}: no checkpoint matches "
                  f"{row['checkpoint']}")
            continue
        results.append(score_row(row, args.split, args.cfg_options, work_dir))
        print(f"{row['name']}: " +
              ', '.join(f'{k}={v:.4f}'
                        for k, v in results[-1]['metrics'].items()))
    if not results:
        raise SystemExit('no row could be scored (no checkpoint exists)')
    dataset = entries.get('dataset', 'Flowers-17')
    table = markdown_table(results)
    command = f'python tools/benchmark_table.py {args.entries} ' \
        f'--split {args.split}' + (' --skip-missing'
                                   if args.skip_missing else '')
    preamble = (
        f'{dataset}, `{args.split}` split; written by `{command}` (do not '
        'edit by hand). Object IoU: dataset-level '
        'IoU of the object class with the model\'s own mask-to-class '
        'assignment; mIoU and pixel accuracy: mmseg\'s IoUMetric '
        '(fractions here); best-of-2: the ReDO reference\'s per-image '
        'protocol (the better of the mask and its inverse, per image), '
        'which flatters. Ignore pixels are excluded everywhere.')
    write_readme_table(args.readme, table, preamble)
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
