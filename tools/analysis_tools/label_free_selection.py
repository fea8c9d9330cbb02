"""Which checkpoint the label-free score keeps, against the val masks' pick.

For every checkpoint of a run (``<work_dir>/iter_*.pth``, in iteration
order), the object region is assigned as a run without labels assigns it
(``MaskAssignmentHook``'s border rule; the label rule's choice is shown
beside it), then the validation split is scored with ``LabelFreeMaskScore``
(predictions only) and with the true object IoU (``ReDOMetric``), and the
test split (the config's ``test_dataloader``) with the true object IoU.
One metric scores the whole run, so its stability compares each checkpoint
with the previous one, as it compares consecutive validations in training.
Each checkpoint is printed as one row; then, per run, the checkpoint that
``label_free_score`` keeps (first maximum, as ``CheckpointHook(save_best=
'label_free_score')`` keeps it), the one the val masks keep and the last
one, with their test object IoU and their gap to the val masks' pick (in
test and in val object IoU).

With ``--stops-from ITER`` each run is also summarised as if it had stopped
at each of its checkpoints from ITER on (a time budget, a crash): the mean
and the worst test gap over those stopping points. With ``--rows`` the
arguments are JSON files written by ``--out``, summarised together without
scoring the checkpoints again.

Example:
    OMP_NUM_THREADS=1 python tools/analysis_tools/label_free_selection.py \
        work_dirs/redo_flowers17_cpu --out label_free_selection.json
    python tools/analysis_tools/label_free_selection.py --rows \
        label_free_selection.json other_runs.json --stops-from 1500
"""
import argparse
import glob
import json
import os.path as osp
import re
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from mmseg.registry import MODELS

from mmseg_redo.engine.hooks import MaskAssignmentHook

#: Each checkpoint's columns, in the printed order.
ROW_COLUMNS = ('iter', 'border_choice', 'label_choice', 'lf_confidence',
               'lf_stability', 'lf_area', 'label_free_score', 'val_iou',
               'test_iou')
#: The checkpoint choices compared: name -> the row key it maximises
#: (None: keep the last checkpoint).
SELECTORS: Dict[str, Optional[str]] = dict(
    label_free_score='label_free_score', val_iou='val_iou', last=None)


def find_checkpoints(work_dir: str) -> List[Tuple[int, str]]:
    """``(iteration, path)`` of every ``iter_*.pth`` of a run, in order."""
    found = []
    for path in glob.glob(osp.join(glob.escape(work_dir), 'iter_*.pth')):
        match = re.fullmatch(r'iter_(\d+)\.pth', osp.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    if len(found) < 2:
        raise FileNotFoundError(
            f'{work_dir} holds {len(found)} iter_*.pth checkpoint(s): '
            'train with default_hooks.checkpoint.max_keep_ckpts=-1 to keep '
            'them all')
    return sorted(found)


def find_config(work_dir: str) -> str:
    """The config mmengine dumped into the run's work dir."""
    configs = glob.glob(osp.join(glob.escape(work_dir), '*.py'))
    if len(configs) != 1:
        raise FileNotFoundError(
            f'expected one dumped config in {work_dir}, found {configs}; '
            'pass --config')
    return configs[0]


def cached_batches(dataloader_cfg: dict) -> Tuple[list, int]:
    """Every batch of a dataloader, decoded once, and the sample count."""
    cfg = dict(dataloader_cfg, num_workers=0, persistent_workers=False)
    batches = list(Runner.build_dataloader(cfg))
    return batches, sum(len(b['data_samples']) for b in batches)


def score_split(model: torch.nn.Module, split: Tuple[list, int],
                evaluator: Evaluator) -> Dict[str, float]:
    """Predict every batch of a cached split; reduce ``evaluator``."""
    batches, size = split
    with torch.no_grad():
        for batch in batches:
            evaluator.process(model.test_step(batch), batch)
    return evaluator.evaluate(size)


def evaluate_run(work_dir: str,
                 config: Optional[str] = None,
                 cfg_options: Optional[dict] = None) -> Iterator[dict]:
    """Score every checkpoint of one run, in iteration order.

    Rows are yielded as they are scored (each takes a pass over val and
    test), so they can be shown as they come.

    Args:
        work_dir (str): The run's work dir.
        config (str, optional): Its config. Defaults to the dumped one.
        cfg_options (dict, optional): Merged into the config.

    Yields:
        dict: Per checkpoint, the :data:`ROW_COLUMNS`.
    """
    cfg = Config.fromfile(config or find_config(work_dir))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(cfg.model).eval()
    val = cached_batches(cfg.val_dataloader)
    test = cached_batches(cfg.test_dataloader)
    val_evaluator = Evaluator(
        [dict(type='ReDOMetric'),
         dict(type='LabelFreeMaskScore')])
    test_evaluator = Evaluator([dict(type='ReDOMetric')])
    hook = MaskAssignmentHook(rule='border')
    for iteration, path in find_checkpoints(work_dir):
        load_checkpoint(model, path, map_location='cpu', strict=True)
        choices = hook.assign(model, val[0])['choices']
        scores = score_split(model, val, val_evaluator)
        row = dict(
            iter=iteration,
            border_choice=choices['border'],
            label_choice=choices.get('labels'),
            val_iou=scores['object_iou'],
            test_iou=score_split(model, test, test_evaluator)['object_iou'])
        row.update((k, v) for k, v in scores.items()
                   if k.startswith('lf_') or k == 'label_free_score')
        yield row


def pick(rows: List[dict], selector: str) -> dict:
    """The checkpoint a selector keeps (first maximum, or the last one)."""
    key = SELECTORS[selector]
    if key is None:
        return rows[-1]
    return rows[int(np.argmax([row[key] for row in rows]))]


def summarise(rows: List[dict]) -> Dict[str, dict]:
    """Per selector: the checkpoint it keeps and its gaps.

    Returns:
        dict[str, dict]: ``iter``, ``test_iou``, ``gap`` (its test object
        IoU minus that of the val masks' pick) and ``val_gap`` (the same in
        val object IoU).
    """
    best = pick(rows, 'val_iou')
    summary = {}
    for selector in SELECTORS:
        chosen = pick(rows, selector)
        summary[selector] = dict(
            iter=chosen['iter'],
            test_iou=chosen['test_iou'],
            gap=chosen['test_iou'] - best['test_iou'],
            val_gap=chosen['val_iou'] - best['val_iou'])
    return summary


def stop_summary(rows: List[dict], stops_from: int) -> Dict[str, dict]:
    """Per selector, its test gap as if the run had stopped at each
    checkpoint from iteration ``stops_from`` on.

    Returns:
        dict[str, dict]: ``mean`` and ``worst`` gap (to the val masks' pick
        among the same checkpoints), ``worst_stop`` (the iteration of the
        worst one) and ``stops`` (how many stopping points).
    """
    stops = [k for k in range(1, len(rows) + 1)
             if rows[k - 1]['iter'] >= stops_from]
    if not stops:
        raise ValueError(f'no checkpoint at or after iteration {stops_from}')
    gaps = {selector: [] for selector in SELECTORS}
    for k in stops:
        for selector, summary in summarise(rows[:k]).items():
            gaps[selector].append(summary['gap'])
    return {
        selector: dict(
            mean=float(np.mean(g)),
            worst=float(np.min(g)),
            worst_stop=rows[stops[int(np.argmin(g))] - 1]['iter'],
            stops=len(stops))
        for selector, g in gaps.items()
    }


def read_rows(paths: Sequence[str]) -> Dict[str, List[dict]]:
    """Each run's checkpoint rows from JSON files that ``--out`` wrote."""
    runs = {}
    for path in paths:
        with open(path) as f:
            runs.update(
                (run, saved['rows']) for run, saved in json.load(f).items())
    return runs


def markdown_table(header: Sequence[str],
                   body: List[List[str]]) -> str:
    """A markdown table from its header and rows of cells."""
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(cells) + ' |' for cells in body]
    return '\n'.join(lines)


def format_row(row: dict) -> str:
    """One checkpoint's line of the per-checkpoint table."""
    cells = [
        f'{row[k]:.3f}' if isinstance(row[k], float) else str(row[k])
        for k in ROW_COLUMNS
    ]
    return '| ' + ' | '.join(cells) + ' |'


def summary_table(summaries: Dict[str, Dict[str, dict]]) -> str:
    """Markdown: per run and selector, its pick and gaps."""
    body = [[
        osp.basename(osp.normpath(run)), selector,
        str(s['iter']), f'{s["test_iou"]:.3f}', f'{s["gap"]:+.3f}',
        f'{s["val_gap"]:+.3f}'
    ] for run, summary in summaries.items()
            for selector, s in summary.items()]
    return markdown_table(
        ['run', 'kept by', 'iter', 'test IoU', 'gap', 'val gap'], body)


def stop_table(stops: Dict[str, Dict[str, dict]]) -> str:
    """Markdown: per run and selector, the mean and worst stopping gap."""
    body = [[
        osp.basename(osp.normpath(run)), selector, str(s['stops']),
        f'{s["mean"]:+.3f}', f'{s["worst"]:+.3f} ({s["worst_stop"]})'
    ] for run, summary in stops.items() for selector, s in summary.items()]
    return markdown_table(
        ['run', 'kept by', 'stops', 'mean gap', 'worst gap (at)'], body)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description="Which checkpoint the label-free score keeps, against "
        "the val masks' pick")
    parser.add_argument(
        'work_dirs',
        nargs='+',
        help='work dirs of runs (iter_*.pth each), or with --rows, JSON '
        'files that --out wrote')
    parser.add_argument(
        '--config', help='config of the runs (default: the dumped one)')
    parser.add_argument('--out', help='write rows and summaries as JSON')
    parser.add_argument(
        '--rows',
        action='store_true',
        help="read the checkpoints' scores from JSON files of --out "
        'instead of scoring checkpoints (to summarise runs together)')
    parser.add_argument(
        '--stops-from',
        type=int,
        help='also summarise as if each run had stopped at each of its '
        'checkpoints from this iteration on: mean and worst gap')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Score every run, print the tables, optionally write the JSON."""
    args = parse_args(argv)
    if args.rows:
        runs = read_rows(args.work_dirs)
    else:
        runs = {}
        for work_dir in args.work_dirs:
            print(f'\n{work_dir} (object region by the border rule)\n' +
                  markdown_table(ROW_COLUMNS, []))
            runs[work_dir] = []
            for row in evaluate_run(work_dir, args.config, args.cfg_options):
                print(format_row(row), flush=True)
                runs[work_dir].append(row)
    results = {
        run: dict(rows=rows, summary=summarise(rows))
        for run, rows in runs.items()
    }
    print("\nCheckpoint kept: its test object IoU and the gap to the val "
          "masks' pick (test, val)\n" +
          summary_table({run: r['summary'] for run, r in results.items()}))
    if args.stops_from is not None:
        for result in results.values():
            result['stops'] = stop_summary(result['rows'], args.stops_from)
        print(f"\nGap to the val masks' pick had each run stopped at each "
              f'of its checkpoints from iteration {args.stops_from} on\n' +
              stop_table({run: r['stops'] for run, r in results.items()}))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
