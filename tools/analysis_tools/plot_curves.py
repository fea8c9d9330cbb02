"""Plot a run's validation scores and training losses against iteration.

A command line over :mod:`mmseg_redo.visualization.curves`: from the
``vis_data/scalars.json`` that mmengine's ``LocalVisBackend`` writes, two
panels go into a PNG: validation object IoU and mIoU (and, when logged,
the reference's best-of-2 IoU and ``label_free_score``, dashed), and every
training loss.

With several work dirs, one panel compares their validation object IoU
(``--labels`` names them), e.g. two recipes and their seeds.

Example:
    python tools/analysis_tools/plot_curves.py work_dirs/redo_flowers17_cpu \
        --out curves.png
    python tools/analysis_tools/plot_curves.py work_dirs/run_a work_dirs/run_b \
        --labels "recipe A" "recipe B" --out compare.png
"""
import argparse
import os.path as osp
from typing import List, Optional, Tuple

from mmseg_redo.visualization.curves import (Series, find_scalars,
                                             plot_comparison, plot_curves,
                                             read_scalars)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description='Plot validation scores and losses against iteration')
    parser.add_argument(
        'paths',
        nargs='+',
        help='work dir of a run, or its vis_data/scalars.json; several to '
        'compare their validation object IoU')
    parser.add_argument(
        '--labels', nargs='+', help='names of the runs (default: folders)')
    parser.add_argument('--out', default='curves.png', help='output PNG')
    parser.add_argument('--title', help='figure title')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Tuple[Series, Series]:
    """Read the runs' scalars and write the PNG.

    Returns:
        tuple[dict, dict]: The (last) run's training and validation series.
    """
    args = parse_args(argv)
    labels = args.labels or [
        osp.basename(osp.normpath(p)) for p in args.paths
    ]
    if len(labels) != len(args.paths):
        raise SystemExit(f'{len(args.paths)} runs but {len(labels)} labels')
    if len(args.paths) > 1:
        runs = {
            label: read_scalars(find_scalars(path))[1]
            for label, path in zip(labels, args.paths)
        }
        plot_comparison(runs, args.out, title=args.title)
        print(f'wrote {args.out}: {len(runs)} runs compared')
        return {}, runs[labels[-1]]
    path = args.paths[0]
    train, val = read_scalars(find_scalars(path))
    plot_curves(train, val, args.out, args.title
                or osp.basename(osp.normpath(path)))
    print(f'wrote {args.out}: {len(val)} validation and {len(train)} loss '
          'curves')
    return train, val


if __name__ == '__main__':
    main()
