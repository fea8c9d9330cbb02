"""How well segment_folder's quality score ranks the worst masks.

For a folder whose true masks exist: the ``scores.csv`` that
``tools/segment_folder.py`` wrote and the per-image IoUs that
``tools/analysis_tools/score_masks.py --out`` wrote for the same masks.
Prints, for the score and for each measure, the share of the 10% worst
photos (by true IoU) that are among its 10% lowest (random order: 0.10),
and Spearman's rank correlation with the IoU.

Example:
    python tools/analysis_tools/score_ranking.py out/scores.csv iou.json
"""
import argparse
import csv
import json
import os.path as osp

import numpy as np
from scipy.stats import spearmanr

from mmseg_redo.evaluation.mask_quality import worst_caught

#: Columns compared: higher should mean a better mask ('-' flips one).
COLUMNS = ('score', 'confidence', 'largest_share', '-border_share',
           '-border_mass')


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('scores', help="segment_folder's scores.csv")
    parser.add_argument('ious', help="score_masks.py --out's JSON")
    parser.add_argument('--fraction', type=float, default=0.1)
    args = parser.parse_args()
    with open(args.ious) as f:
        per_image = json.load(f)['per_image']
    with open(args.scores, newline='') as f:
        rows = [r for r in csv.DictReader(f) if r['score']]
    stem = {r['photo']: osp.splitext(osp.basename(r['photo']))[0]
            for r in rows}
    rows = [r for r in rows if stem[r['photo']] in per_image]
    ious = [per_image[stem[r['photo']]] for r in rows]
    worst = sorted(ious)[:max(1, round(args.fraction * len(ious)))]
    print(f'{len(rows)} photos; the {args.fraction:.0%} worst by true IoU: '
          f'mean IoU {np.mean(worst):.3f}')
    print('| ranked by | worst caught | Spearman with IoU |')
    print('|---|---|---|')
    for column in COLUMNS:
        sign = -1.0 if column.startswith('-') else 1.0
        values = [sign * float(r[column.lstrip('-')]) for r in rows]
        # A constant measure (no border in a box's masks) ranks nothing.
        if len(set(values)) == 1:
            print(f'| {column} | n/a (constant) | n/a |')
            continue
        print(f'| {column} | {worst_caught(values, ious, args.fraction):.2f}'
              f' | {spearmanr(values, ious).statistic:.2f} |')


if __name__ == '__main__':
    main()
