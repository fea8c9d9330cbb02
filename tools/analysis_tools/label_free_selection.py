"""Measure which label-free score picks checkpoints the way val masks do.

A command line over :mod:`mmseg_redo.evaluation.label_free_selection`,
which defines the scores, selectors and gaps. Every checkpoint of a run
(``<work_dir>/iter_*.pth``) is scored, with the object region of ``--rule``
(border by default, as a run without labels assigns it), and printed as one
row; then, per selector, the checkpoint it keeps, its test object IoU, its
gap to the val masks' pick and to the labelled pipeline, and Spearman's rho
with the val object IoU. Several work dirs are scored one after the other
and summarised together (mean gaps, mean rho where defined).

With ``--stops-from ITER`` each run is also summarised as if it had
stopped at each of its checkpoints from ITER on (a time budget, a crash):
per selector the mean and the worst gap over those stopping points. With
``--rows`` the arguments are JSON files written by ``--out``, summarised
together without scoring the checkpoints again.

Example:
    OMP_NUM_THREADS=1 python tools/analysis_tools/label_free_selection.py \
        work_dirs/redo_flowers17_cpu --out label_free_selection.json
    python tools/analysis_tools/label_free_selection.py --rows \
        label_free_selection.json other_runs.json --stops-from 1500
"""
import argparse
import json
from typing import Dict, List, Optional

from mmengine.config import DictAction

from mmseg_redo.evaluation.label_free_selection import (
    checkpoint_table_header, evaluate_run, format_row, read_rows,
    stop_summary, stop_table, summarise, summary_table)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description='Compare label-free checkpoint scores with the true '
        'validation object IoU')
    parser.add_argument(
        'work_dirs',
        nargs='+',
        help='work dirs of runs (iter_*.pth each), or with --rows, JSON '
        'files that --out wrote')
    parser.add_argument(
        '--config', help='config of the runs (default: the dumped one)')
    parser.add_argument(
        '--rule',
        choices=['border', 'labels'],
        default='border',
        help='object-region assignment before scoring (default: border, '
        'as a run without labels assigns it)')
    parser.add_argument('--out', help='write rows and summaries as JSON')
    parser.add_argument(
        '--rows',
        action='store_true',
        help='read the checkpoints\' scores from JSON files of --out '
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


def main(argv: Optional[List[str]] = None) -> Dict[str, dict]:
    """Score every run, print the tables, optionally write the JSON."""
    args = parse_args(argv)
    results = {}
    if args.rows:
        for run, rows in read_rows(args.work_dirs).items():
            results[run] = dict(rows=rows, summary=summarise(rows))
    else:
        for work_dir in args.work_dirs:
            print(f'\n{work_dir} (object region by the {args.rule} rule)\n'
                  f'{checkpoint_table_header()}')
            rows = []
            for row in evaluate_run(work_dir, args.config, args.rule,
                                    args.cfg_options):
                print(format_row(row), flush=True)
                rows.append(row)
            results[work_dir] = dict(rows=rows, summary=summarise(rows))
    summaries = {run: r['summary'] for run, r in results.items()}
    print('\nCheckpoint kept by each selector: its test object IoU, the '
          "gap to the val masks' pick (same assignment), the gap to the "
          'labelled pipeline, Spearman rho with val object IoU\n' +
          summary_table(summaries))
    if args.stops_from is not None:
        for run, result in results.items():
            result['stops'] = stop_summary(result['rows'], args.stops_from)
        print(f'\nGap to the val masks\' pick had each run stopped at each '
              f'of its checkpoints from iteration {args.stops_from} on\n' +
              stop_table({run: r['stops'] for run, r in results.items()}))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == '__main__':
    main()
