"""Score the rows that can be scored here and write the benchmark tables.

A command line over :func:`mmseg_redo.benchmark.write_benchmark_table`:
every row whose checkpoints (and data) are on this machine is scored by
mmseg's Runner test loop with its config's own dataloader and evaluators
(``IoUMetric`` and ``ReDOMetric``), or, for a row of masks written at the
photo's size, by ``score_mask_folder``; its numbers and their provenance
(date, commit, machine, checkpoints, command) replace its entry in the
results store (``docs/results/<dataset>_<split>.json``). Every other row
is shown as stored, and a row the store lacks too is left out with a
warning. The markdown tables (README blocks between marker comments) and
the mmseg-style metafile are then written from the store, on any machine.

The rows come from a YAML (or JSON) file: a list of entries, or a mapping
with ``rows`` (and optionally ``dataset``, ``collection``, ``split``,
``results`` and ``outputs``: the README blocks and metafile to write); see
:mod:`mmseg_redo.benchmark.rows` for the keys of a row (a config, its
checkpoints or their glob, one per seed, ``train_time``, ``select: val``,
``weights: raw``...) and :mod:`mmseg_redo.benchmark.mask_rows` for a row
of masks. ``--readme``, ``--marker``, ``--metafile``, ``--columns`` or
``--curves`` write one block instead of the file's outputs.

Examples:
    python tools/benchmark_table.py configs/redo/benchmark_flowers17_cpu.yaml
    # Only re-render from the store (score nothing).
    python tools/benchmark_table.py configs/redo/ablation_flowers17_cpu.yaml \
        --from-store
"""
import argparse
import os.path as osp
from typing import Any, Dict, List, Optional

from mmengine.config import DictAction

from mmseg_redo.benchmark.table import DEFAULT_MARKER
from mmseg_redo.benchmark.workflow import (DEFAULT_METAFILE, DEFAULT_README,
                                           write_benchmark_table)

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
        help="which dataloader and evaluator of each config to use "
        "(default: the rows file's split, else test)")
    parser.add_argument(
        '--readme',
        help='README whose table (between the marker comments) is replaced '
        f"(default: the rows file's outputs, else {DEFAULT_README})")
    parser.add_argument(
        '--marker',
        help='the README block to replace: between <!-- MARKER:start --> '
        f'and <!-- MARKER:end --> (default: {DEFAULT_MARKER})')
    parser.add_argument(
        '--metafile',
        help=f"mmseg-style metafile to write ('' for none; default: "
        f'{DEFAULT_METAFILE} with --readme, --marker, --columns, --curves)')
    parser.add_argument(
        '--columns',
        choices=['full', 'compact'],
        help='every column, or method, labels, object IoU, input, config, '
        'notes and date (default: full)')
    parser.add_argument(
        '--curves',
        action='store_true',
        help="add a column with each run's best and last validation object "
        'IoU, from its logs')
    parser.add_argument(
        '--results',
        help="the results store (default: the rows file's results, else "
        'docs/results/<dataset>_<split>.json)')
    parser.add_argument(
        '--from-store',
        action='store_true',
        help='score nothing: write the tables from the results store')
    parser.add_argument(
        '--import-recorded',
        metavar='REV',
        help='first store the rows of the tables (and metafile) as git '
        'holds them at REV, for tables written before the results store '
        '(see mmseg_redo/benchmark/recorded.py); scores nothing')
    parser.add_argument(
        '--work-dir', help='where the runners log (default: temporary)')
    parser.add_argument(
        '--json-out', help='also dump every row shown and its metrics as JSON')
    parser.add_argument(
        '--skip-missing',
        action='store_true',
        help='leave out rows that cannot be scored here even when the '
        'results store has them (default: show them as stored)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides applied to every row\'s config, xxx=yyy format')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    """Score what can be scored, update the store, write the tables."""
    args = parse_args(argv)
    one_block = (args.readme, args.marker, args.metafile, args.columns)
    readme = metafile = None
    if any(flag is not None for flag in one_block) or args.curves:
        readme = args.readme or DEFAULT_README
        metafile = DEFAULT_METAFILE if args.metafile is None else (
            args.metafile or None)
    return write_benchmark_table(
        args.entries,
        readme,
        split=args.split,
        marker=args.marker,
        metafile_path=metafile,
        json_out=args.json_out,
        curves=args.curves,
        skip_missing=args.skip_missing,
        work_dir=args.work_dir,
        cfg_options=args.cfg_options,
        root=REPO_ROOT,
        columns=args.columns or 'full',
        results=args.results,
        from_store=args.from_store,
        import_rev=args.import_recorded)


if __name__ == '__main__':
    main()
