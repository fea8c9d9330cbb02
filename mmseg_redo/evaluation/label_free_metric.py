"""The label-free score of predicted object masks, to select checkpoints."""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MessageHub, MMLogger

from mmseg.registry import METRICS
from ..utils.mask_geometry import mask_iou, object_probability
from .mask_quality import AREA_RANGE, mask_measures


@METRICS.register_module()
class LabelFreeMaskScore(BaseMetric):
    """A score of predicted object masks that needs no ground truth.

    Computed from each sample's ``seg_logits`` (object probability ``p``)
    and ``pred_sem_seg`` (hard mask) only, so it runs on photos without
    masks and can drive ``CheckpointHook(save_best='label_free_score')``.
    ``label_free_score`` is the product of three factors, each in [0, 1],
    higher is better, logged too (``lf_<factor>``) so that a log shows
    which one held the score down:

    - ``confidence``: mean ``|2p - 1|``; masks that commit to each pixel.
    - ``stability``: mean IoU of each image's hard mask with its mask at the
      previous evaluation (matched by ``img_path``); 0 at a run's first
      evaluation (nothing to compare with).
    - ``area``: fraction of images whose object covers between
      ``area_range`` of the image; empty and whole-image masks fail it.

    The product asks for masks that are decided (confidence), settled
    (stability: a mask still moving between two solutions can be confident
    for a moment) and sane (area: an empty or whole-image mask can be
    confident and perfectly stable). Each factor caught a failure of the
    others; it is insurance, not an oracle: a run whose masks grow more
    confident and stable while they get worse is not caught. Measurements:
    docs/benchmarks.md ("Label-free checkpoint score"). The first
    evaluation of a run has no stability, so its score is 0.

    The previous masks are also kept in the run's message hub, which every
    checkpoint saves and ``--resume`` restores (as mmengine's CheckpointHook
    keeps its best score): the first evaluation after a resume compares with
    the last evaluation before the checkpoint, instead of scoring 0 and
    losing the chance to be the best checkpoint.

    Args:
        object_index (int): Object class in the predictions. Defaults to 1.
        area_range (tuple[float, float]): Acceptable object area, as a
            fraction of the image. Defaults to (0.05, 0.95).
        stability_size (int): Hard masks are kept for the next evaluation
            subsampled to at most this many pixels per side, which bounds
            the memory for large photos. Defaults to 128.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Prefix for the keys. Defaults to None.
    """
    default_prefix: Optional[str] = None

    def __init__(self,
                 object_index: int = 1,
                 area_range: Tuple[float, float] = AREA_RANGE,
                 stability_size: int = 128,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.object_index = object_index
        self.area_range = area_range
        self.stability_size = stability_size
        # Hard masks of the previous evaluation, by image path.
        self._previous_masks: Dict[str, np.ndarray] = {}
        self._hub_key = 'label_free_previous_masks'
        if prefix:
            self._hub_key = f'{prefix}/{self._hub_key}'

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store each image's statistics and (subsampled) hard mask.

        Args:
            data_batch (dict): Unused.
            data_samples (Sequence[dict]): Outputs of the model, each with
                ``seg_logits`` and ``pred_sem_seg``; ground truth, if any,
                is not read.
        """
        for sample in data_samples:
            prob = object_probability(sample['seg_logits']['data'],
                                      self.object_index)
            hard = sample['pred_sem_seg']['data'][0] == self.object_index
            step = math.ceil(max(hard.shape) / self.stability_size)
            self.results.append(
                dict(
                    img_path=sample.get('img_path'),
                    mask=hard[::step, ::step].cpu().numpy(),
                    **mask_measures(prob, hard)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Reduce the per-image statistics to the score and its factors.

        Args:
            results (list[dict]): Statistics from every process.

        Returns:
            dict[str, float]: ``lf_confidence``, ``lf_stability``,
            ``lf_area`` and their product, ``label_free_score``.
        """
        low, high = self.area_range
        areas = np.array([r['area'] for r in results])
        factors = dict(
            confidence=float(np.mean([r['confidence'] for r in results])),
            stability=self._stability(results),
            area=float(np.mean((areas >= low) & (areas <= high))))
        scores = {f'lf_{k}': v for k, v in factors.items()}
        scores['label_free_score'] = float(np.prod(list(factors.values())))
        MMLogger.get_current_instance().info(
            'LabelFreeMaskScore on %d images: %s', len(results),
            ', '.join(f'{k}={v:.4f}' for k, v in scores.items()))
        return scores

    def _stability(self, results: List[dict]) -> float:
        """Mean IoU with the previous evaluation's masks; keep these ones.

        Images not seen at the previous evaluation are left out; with none
        left, 0 (no evidence of stability).
        """
        hub = MessageHub.get_current_instance()
        if not self._previous_masks:
            # A new metric in a resumed run: the checkpoint's message hub
            # holds the masks of the evaluation before it (empty otherwise).
            self._previous_masks = hub.get_info(self._hub_key, {})
        ious = [
            mask_iou(r['mask'], self._previous_masks[r['img_path']])
            for r in results if r['img_path'] in self._previous_masks
            and r['mask'].shape == self._previous_masks[r['img_path']].shape
        ]
        self._previous_masks = {r['img_path']: r['mask'] for r in results}
        hub.update_info(self._hub_key, self._previous_masks)
        return float(np.mean(ious)) if ious else 0.0
