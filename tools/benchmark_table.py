"""Score a list of models on one split and write the benchmark table.

A command line over :func:`mmseg_redo.benchmark.write_benchmark_table`:
every row is scored by mmseg's Runner test loop with its config's own
dataloader and evaluators (``IoUMetric`` and ``ReDOMetric``), so the table
holds only measured numbers: the markdown table goes into a README between
marker comments, and the same results into an mmseg-style metafile.

The rows come from a YAML (or JSON) file: a list of entries, or a mapping
with ``rows`` (and optionally ``dataset``, ``collection``); see
:mod:`mmseg_redo.benchmark.rows` for the keys of a row (a config, its
checkpoints or their glob, one per seed, ``train_time``, ``select: val``,
``weights: raw``...).

Example:
    python tools/benchmark_table.py configs/redo/benchmark_flowers17_cpu.yaml
"""
import argparse
import os.path as osp
import sys
from typing import Any, Dict, List, Optional

from mmengine.config import DictAction

from mmseg_redo.benchmark import NoRowScored, write_benchmark_table

#: The repository: the metafile's paths are relative to it.
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


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
    return write_benchmark_table(
        args.entries,
        args.readme,
        split=args.split,
        marker=args.marker,
        metafile_path=args.metafile or None,
        json_out=args.json_out,
        curves=args.curves,
        skip_missing=args.skip_missing,
        work_dir=args.work_dir,
        cfg_options=args.cfg_options,
        root=REPO_ROOT)


if __name__ == '__main__':
    try:
        main()
    except NoRowScored as error:
        sys.exit(str(error))
