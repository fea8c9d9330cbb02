"""Score a folder of written masks against true masks (object IoU).

For masks written by ``segment_folder`` (0/255 PNGs at each photo's size,
``masks/<path>.png``) of photos that do have true masks somewhere: a
held-back check of the label-free pipeline, at the photo's resolution.
"""
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from PIL import Image

from ..datasets.mask_rules import IGNORE_INDEX, MASK_RULES, decode_mask


def object_counts(pred: np.ndarray, gt: np.ndarray,
                  ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Object intersection and union of one image, ignore pixels left out.

    Args:
        pred (np.ndarray): Predicted mask, any value above 127 = object.
        gt (np.ndarray): True mask, 1 = object, ``ignore_index`` left out.
        ignore_index (int): Defaults to 255.
    """
    if pred.shape != gt.shape:
        raise ValueError(f'mask of size {pred.shape} against a true mask of '
                         f'size {gt.shape}')
    valid = gt != ignore_index
    p, t = (pred > 127) & valid, (gt == 1) & valid
    return np.array([(p & t).sum(), (p | t).sum()], dtype=np.int64)


def masks_by_stem(mask_dir: str) -> Dict[str, str]:
    """Every ``.png`` under ``mask_dir`` (recursively), by file stem.

    ``segment_folder`` keeps the photos' sub-folders (LFW's
    ``<person>/<person>_NNNN``), true masks are often flat.

    Raises:
        ValueError: Two masks share a stem.
    """
    found = {}
    for dirpath, _, names in os.walk(mask_dir):
        for name in names:
            if not name.endswith('.png'):
                continue
            stem, path = name[:-len('.png')], osp.join(dirpath, name)
            if stem in found:
                raise ValueError(f'{found[stem]} and {path} share the name '
                                 f'{stem}; score them separately')
            found[stem] = path
    return found


def read_ids(path: str) -> List[str]:
    """Stems listed in a split file: the last word of every line.

    Reads Flowers-17's ``image_0001`` and ReDO's LFW lists
    (``<person> <person>_NNNN``) alike.
    """
    with open(path, encoding='utf-8') as f:
        return [line.split()[-1] for line in f if line.strip()]


def score_mask_folder(mask_dir: str,
                      gt_dir: str,
                      ids: Optional[List[str]] = None,
                      rule: str = 'label',
                      ignore_index: int = IGNORE_INDEX,
                      gt_suffix: str = '.png') -> Dict[str, object]:
    """Dataset-level and per-image object IoU over the listed ids.

    Args:
        mask_dir (str): Predicted masks, ``<stem>.png`` anywhere under it.
        gt_dir (str): True masks, ``<stem><gt_suffix>``.
        ids (list[str], optional): Stems to score; default every true mask.
        rule (str): How true masks are read, one of
            :data:`~mmseg_redo.datasets.mask_rules.MASK_RULES` (``label``:
            0/1/255 PNGs; ``lfw_parts``: LFW's part colours). Defaults to
            'label'.
        ignore_index (int): True-mask value left out. Defaults to 255.
        gt_suffix (str): Suffix of the true masks. Defaults to '.png'.

    Returns:
        dict: ``object_iou`` (summed intersections over summed unions),
        ``mean_image_iou``, ``images`` and ``per_image`` (stem to IoU;
        images whose object and prediction are both empty are left out).

    Raises:
        FileNotFoundError: A listed stem has no true or no predicted mask.
    """
    if rule not in MASK_RULES:
        raise ValueError(f'rule must be one of {MASK_RULES}, got {rule!r}')
    if ids is None:
        ids = sorted(name[:-len(gt_suffix)] for name in os.listdir(gt_dir)
                     if name.endswith(gt_suffix))
    predicted = masks_by_stem(mask_dir)
    totals, per_image = np.zeros(2, np.int64), {}
    for stem in ids:
        gt_path = osp.join(gt_dir, stem + gt_suffix)
        for path in (predicted.get(stem, osp.join(mask_dir, f'{stem}.png')),
                     gt_path):
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'{path} not found: every listed id needs a predicted '
                    'and a true mask (run segment_folder.py on the photos '
                    'first, or pass --ids)')
        with open(gt_path, 'rb') as f:
            gt = decode_mask(f.read(), rule, gt_path)
        counts = object_counts(
            np.asarray(Image.open(predicted[stem])), gt, ignore_index)
        totals += counts
        if counts[1]:
            per_image[stem] = counts[0] / counts[1]
    return dict(
        object_iou=float(totals[0] / max(totals[1], 1)),
        mean_image_iou=float(np.mean(list(per_image.values())))
        if per_image else float('nan'),
        images=len(ids),
        per_image=per_image)
