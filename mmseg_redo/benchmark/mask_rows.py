"""Rows of masks written at the photo's size: the folder workflow's scores.

A masks row names folders of masks that ``tools/segment_folder.py`` wrote
(0/255 PNGs at each photo's own size), one folder per run (seed), and the
true masks to score them against; no model is run::

    - name: GrabCut 128 at the photo's size
      config: configs/baselines/grabcut_flowers17-128x128.py  # wrote them
      masks: work_dirs/seg/gc128_flowers17_test    # or a list, one per seed
      gt_dir: ../shared/data/flowers17/masks
      ids: ../shared/data/flowers17/test.txt       # the split's list
      rule: label          # or lfw_parts (see mmseg_redo.datasets.mask_rules)

A folder holding ``masks/`` (``segment_folder``'s ``--out``) is read
there. Each run is scored by
:func:`mmseg_redo.evaluation.mask_folder.score_mask_folder`: the
dataset-level object IoU (intersections summed over the split, divided by
the summed unions) and the mean per-image IoU. mIoU, pixel accuracy and the
reference's best-of-2 are not measured for these rows.
"""
import os.path as osp
from typing import Any, Dict, List

from ..evaluation.mask_folder import read_ids, score_mask_folder
from .rows import mean_metrics, run_seed, train_time_text

#: The ``input`` of a masks row: masks are scored at each photo's size.
PHOTO_SIZE = "photo's size"


def mask_folders(row: Dict[str, Any]) -> List[str]:
    """A masks row's folders, one per run."""
    masks = row['masks']
    return masks if isinstance(masks, list) else [masks]


def missing_mask_inputs(row: Dict[str, Any]) -> List[str]:
    """The folders and files a masks row needs that do not exist (yet)."""
    paths = mask_folders(row) + [row['gt_dir']
                                 ] + ([row['ids']] if row.get('ids') else [])
    return [f'no {path}' for path in paths if not osp.exists(path)]


def score_mask_row(row: Dict[str, Any]) -> Dict[str, Any]:
    """Score each folder of a masks row against the true masks.

    Args:
        row (dict): An entry of the rows file with ``masks``, ``gt_dir`` and
            optionally ``ids`` (a split list) and ``rule`` (default
            ``'label'``).

    Returns:
        dict: What :func:`.rows.score_row` returns for a model: ``metrics``
        (``object_iou`` and ``mean_image_iou``, the mean over runs),
        ``runs`` (each folder's ``masks``, ``seed``, ``images`` and
        ``metrics``), ``params`` (None), ``train_time`` and ``input``
        (:data:`PHOTO_SIZE`).
    """
    ids = read_ids(row['ids']) if row.get('ids') else None
    runs = []
    for i, folder in enumerate(mask_folders(row)):
        written = osp.join(folder, 'masks')
        scores = score_mask_folder(
            written if osp.isdir(written) else folder, row['gt_dir'], ids,
            row.get('rule', 'label'))
        runs.append(
            dict(
                masks=folder,
                seed=run_seed(row, i),
                images=scores['images'],
                metrics={
                    key: scores[key]
                    for key in ('object_iou', 'mean_image_iou')
                }))
    return dict(
        metrics=mean_metrics(runs),
        runs=runs,
        params=None,
        train_time=train_time_text(row, [None] * len(runs)),
        input=PHOTO_SIZE)
