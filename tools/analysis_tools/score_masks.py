"""Score a folder of written masks against true masks (object IoU).

For a user who ran ``tools/segment_folder.py`` on photos that do have masks
somewhere (a held-back check of the label-free pipeline): every true mask
``GT_DIR/<stem>.png`` whose photo was segmented (``MASK_DIR/<stem>.png``) is
compared pixel by pixel at the true mask's size. Masks are read as the
mmseg convention: true masks 0 = background, 1 = object, ``ignore_index``
excluded; predicted masks any value above 127 = object (segment_folder
writes 0/255).

Example:
    python tools/analysis_tools/score_masks.py my_photos_masks/masks \
        ../shared/data/flowers17/masks --ids ../shared/data/flowers17/test.txt
"""
import argparse
import glob
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from PIL import Image


def object_counts(pred: np.ndarray, gt: np.ndarray,
                  ignore_index: int) -> np.ndarray:
    """Object intersection and union of one image, ignore pixels left out."""
    if pred.shape != gt.shape:
        raise ValueError(f'mask of size {pred.shape} against a true mask of '
                         f'size {gt.shape}')
    valid = gt != ignore_index
    p, t = (pred > 127) & valid, (gt == 1) & valid
    return np.array([(p & t).sum(), (p | t).sum()], dtype=np.int64)


def score_folder(mask_dir: str,
                 gt_dir: str,
                 ids: Optional[List[str]] = None,
                 ignore_index: int = 255) -> Dict[str, float]:
    """Dataset-level and mean per-image object IoU over the listed ids.

    Args:
        mask_dir (str): Predicted masks, ``<stem>.png``.
        gt_dir (str): True masks, ``<stem>.png``.
        ids (list[str], optional): Stems to score; default every true mask.
        ignore_index (int): True-mask value left out. Defaults to 255.

    Returns:
        dict: ``object_iou`` (summed intersections over summed unions),
        ``mean_image_iou`` and ``images``.

    Raises:
        FileNotFoundError: A listed stem has no true or no predicted mask.
    """
    if ids is None:
        ids = sorted(
            osp.splitext(osp.basename(p))[0]
            for p in glob.glob(osp.join(gt_dir, '*.png')))
    totals, per_image = np.zeros(2, np.int64), []
    for stem in ids:
        paths = [osp.join(d, f'{stem}.png') for d in (mask_dir, gt_dir)]
        for path in paths:
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'{path} not found: every listed id needs a predicted '
                    'and a true mask (run segment_folder.py on the photos '
                    'first, or pass --ids)')
        pred, gt = (np.asarray(Image.open(p)) for p in paths)
        counts = object_counts(pred, gt, ignore_index)
        totals += counts
        if counts[1]:
            per_image.append(counts[0] / counts[1])
    return dict(
        object_iou=float(totals[0] / max(totals[1], 1)),
        mean_image_iou=float(np.mean(per_image)) if per_image else float('nan'),
        images=len(ids))


def main() -> None:
    """Print the scores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('mask_dir', help='predicted masks (<stem>.png)')
    parser.add_argument('gt_dir', help='true masks (<stem>.png)')
    parser.add_argument('--ids', help='text file of stems to score')
    parser.add_argument('--ignore-index', type=int, default=255)
    args = parser.parse_args()
    ids = None
    if args.ids:
        with open(args.ids) as f:
            ids = [line.strip() for line in f if line.strip()]
    scores = score_folder(args.mask_dir, args.gt_dir, ids, args.ignore_index)
    print(f"{scores['images']} images: object IoU {scores['object_iou']:.4f}"
          f", mean per-image IoU {scores['mean_image_iou']:.4f}")


if __name__ == '__main__':
    main()
