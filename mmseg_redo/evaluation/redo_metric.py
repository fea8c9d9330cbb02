"""ReDO's evaluation protocol as an mmengine metric."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmseg.registry import METRICS

#: Per-image pixel counts: (tp, fp, fn, tn) over non-ignored pixels, with
#: "positive" = predicted object.
Counts = Tuple[int, int, int, int]


def binary_counts(pred: Union[torch.Tensor, np.ndarray],
                  gt: Union[torch.Tensor, np.ndarray],
                  object_index: int = 1,
                  ignore_index: int = 255) -> Counts:
    """Count one image's object/background agreements.

    Computed with NumPy on the CPU: for one small image that is far cheaper
    than torch kernels, which crawl when torch's threads compete for a busy
    CPU.

    Args:
        pred (torch.Tensor | np.ndarray): Predicted labels, any shape.
        gt (torch.Tensor | np.ndarray): Ground-truth labels, same shape.
        object_index (int): Label of the object class. Defaults to 1.
        ignore_index (int): Ground-truth label to skip. Defaults to 255.

    Returns:
        tuple[int, int, int, int]: ``(tp, fp, fn, tn)``.
    """
    if isinstance(pred, torch.Tensor):
        pred = pred.detach().cpu().numpy()
    if isinstance(gt, torch.Tensor):
        gt = gt.detach().cpu().numpy()
    valid = gt != ignore_index
    # 0 = tn, 1 = fp, 2 = fn, 3 = tp
    code = (gt[valid] == object_index) * 2 + (pred[valid] == object_index)
    tn, fp, fn, tp = np.bincount(code.ravel(), minlength=4).tolist()
    return tp, fp, fn, tn


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den == 0."""
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def redo_scores(counts: Sequence[Counts]) -> Dict[str, float]:
    """ReDO's per-image scores and the dataset-level object IoU.

    Per image, with the predicted mask and its inverse: accuracy is the
    better pixel accuracy of the two, IoU the better object IoU of the two,
    each chosen independently (the reference's ``evaluate``). An image with
    no valid pixel is left out of the accuracy means, and an image whose
    ground truth has no object pixel out of the IoU means (its object IoU
    is undefined; the reference would turn the whole mean into NaN).

    Args:
        counts (Sequence[tuple]): ``(tp, fp, fn, tn)`` per image.

    Returns:
        dict[str, float]: ``redo_acc_best_of_2``, ``redo_iou_best_of_2``,
        ``per_image_acc_fixed``, ``per_image_iou_fixed`` (means over
        images) and ``object_iou`` (sum of intersections over sum of unions
        over the set, the fixed assignment), all in [0, 1]; NaN when
        undefined for every image.
    """
    tp, fp, fn, tn = np.asarray(counts, dtype=np.float64).reshape(-1, 4).T
    valid = tp + fp + fn + tn
    acc = _ratio(tp + tn, valid)
    acc_inv = _ratio(fp + fn, valid)
    has_object = (tp + fn) > 0
    iou = np.where(has_object, _ratio(tp, tp + fp + fn), np.nan)
    # Inverted prediction: object where background was predicted, so its
    # intersection is fn, and its union is fn + tn (its false positives) +
    # tp (its misses).
    iou_inv = np.where(has_object, _ratio(fn, fn + tn + tp), np.nan)

    def mean(values: np.ndarray) -> float:
        values = values[~np.isnan(values)]
        return float(values.mean()) if values.size else float('nan')

    union = (tp + fp + fn).sum()
    # np.maximum keeps NaN where both are NaN (undefined for that image).
    return dict(
        redo_acc_best_of_2=mean(np.maximum(acc, acc_inv)),
        redo_iou_best_of_2=mean(np.maximum(iou, iou_inv)),
        per_image_acc_fixed=mean(acc),
        per_image_iou_fixed=mean(iou),
        object_iou=float(tp.sum() / union) if union else float('nan'))


@METRICS.register_module()
class ReDOMetric(BaseMetric):
    """Binary object-segmentation scores, ReDO's protocol and fixed ones.

    Reads ``pred_sem_seg`` and ``gt_sem_seg`` of each data sample (the
    model's ``predict`` has already mapped its masks to 0 = background,
    1 = object); pixels labelled ``ignore_index`` are excluded. Returns,
    all as fractions in [0, 1] (mmseg's ``IoUMetric`` reports percentages):

    - ``redo_acc_best_of_2`` / ``redo_iou_best_of_2``: the reference's
      protocol: per image, the better of the mask and its inverse (chosen
      independently for each score), averaged over images. Optimistic: it
      forgives a model that swaps object and background per image.
    - ``per_image_acc_fixed`` / ``per_image_iou_fixed``: the same means with
      the model's own assignment.
    - ``object_iou``: dataset-level IoU of the object class (intersections
      and unions summed over the set), the honest number that mmseg's
      ``IoUMetric`` only prints in its per-class table.

    Images without an object pixel in the ground truth are left out of the
    IoU means, images without a valid pixel out of every mean (see
    :func:`redo_scores`).

    Args:
        object_index (int): Label of the object class. Defaults to 1.
        ignore_index (int): Ground-truth label to skip. Defaults to 255.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Prefix for the keys. Defaults to None.
    """
    default_prefix: Optional[str] = None

    def __init__(self,
                 object_index: int = 1,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.object_index = object_index
        self.ignore_index = ignore_index

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store each sample's ``(tp, fp, fn, tn)``.

        Args:
            data_batch (dict): Unused.
            data_samples (Sequence[dict]): Outputs of the model, each with
                ``pred_sem_seg`` and ``gt_sem_seg``.

        Raises:
            KeyError: A sample has no ground truth.
            ValueError: Prediction and ground truth differ in shape.
        """
        for sample in data_samples:
            name = sample.get('img_path', '<unnamed image>')
            if 'gt_sem_seg' not in sample:
                raise KeyError(
                    f'{name} has no gt_sem_seg: evaluation splits need '
                    'masks (build the dataset with require_masks=True and '
                    'put LoadObjectMask in the pipeline)')
            pred = sample['pred_sem_seg']['data'].squeeze()
            gt = sample['gt_sem_seg']['data'].squeeze()
            if pred.shape != gt.shape:
                raise ValueError(
                    f'{name}: prediction {tuple(pred.shape)} and ground '
                    f'truth {tuple(gt.shape)} differ in shape; a test '
                    'pipeline that crops must load the mask before resizing '
                    'and end with ResetOriShape')
            self.results.append(
                binary_counts(pred, gt, self.object_index, self.ignore_index))

    def compute_metrics(self, results: List[Counts]) -> Dict[str, float]:
        """Reduce the per-image counts.

        Args:
            results (list[tuple]): Counts from every process.

        Returns:
            dict[str, float]: See :func:`redo_scores`.
        """
        scores = redo_scores(results)
        MMLogger.get_current_instance().info(
            'ReDOMetric on %d images: %s', len(results),
            ', '.join(f'{k}={v:.4f}' for k, v in scores.items()))
        return scores
