"""Evaluation metrics of mmseg_redo (registered in mmseg's METRICS)."""
from .label_free_metric import LabelFreeMaskScore
from .mask_quality import (FLAGS, mask_measures, photo_measures,
                           quality_flags, quality_score)
from .redo_metric import ReDOMetric, binary_counts, redo_scores

__all__ = [
    'FLAGS', 'LabelFreeMaskScore', 'ReDOMetric', 'binary_counts',
    'mask_measures', 'photo_measures', 'quality_flags',
    'quality_score',
    'redo_scores'
]
