"""Score a folder of written masks against true masks (object IoU).

A command line over :func:`mmseg_redo.evaluation.score_mask_folder`: every
true mask ``GT_DIR/<stem>.png`` whose photo was segmented (``<stem>.png``
anywhere under ``MASK_DIR``) is compared pixel by pixel at the true mask's
size; ``--ids`` limits it to a split list.

Examples:
    python tools/analysis_tools/score_masks.py my_photos_masks/masks \
        ../shared/data/flowers17/masks --ids ../shared/data/flowers17/test.txt
    # LFW's part labels (hair + skin = object).
    python tools/analysis_tools/score_masks.py lfw_masks/masks \
        ../shared/data/lfw/parts_lfw_funneled_gt_images \
        --ids ../shared/data/lfw/val.txt --rule lfw_parts
"""
import argparse
import json

from mmseg_redo.datasets.mask_rules import MASK_RULES
from mmseg_redo.evaluation.mask_folder import read_ids, score_mask_folder


def main() -> None:
    """Print the scores (and write the per-image IoUs with ``--out``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('mask_dir', help='predicted masks (<stem>.png)')
    parser.add_argument('gt_dir', help='true masks (<stem>.png)')
    parser.add_argument(
        '--ids', help='split list: the last word of each line is a stem')
    parser.add_argument(
        '--rule',
        default='label',
        choices=MASK_RULES,
        help='how true masks are read (label: 0/1/255 PNGs)')
    parser.add_argument('--ignore-index', type=int, default=255)
    parser.add_argument('--out', help='JSON file for every score')
    args = parser.parse_args()
    ids = read_ids(args.ids) if args.ids else None
    scores = score_mask_folder(args.mask_dir, args.gt_dir, ids, args.rule,
                               args.ignore_index)
    print(f"{scores['images']} images: object IoU {scores['object_iou']:.4f}"
          f", mean per-image IoU {scores['mean_image_iou']:.4f}")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(scores, f, indent=1)


if __name__ == '__main__':
    main()
