"""Evaluation metrics of mmseg_redo (registered in mmseg's METRICS)."""
from .label_free_metric import LabelFreeMaskScore
from .mask_quality import (FLAGS, border_band, mask_measures, photo_measures,
                           quality_flags, quality_score)
from .redo_metric import ReDOMetric, binary_counts, redo_scores

__all__ = [
    'FLAGS', 'LabelFreeMaskScore', 'ReDOMetric', 'binary_counts',
    'border_band', 'mask_measures', 'photo_measures', 'quality_flags',
    'quality_score',
    'redo_scores'
]
