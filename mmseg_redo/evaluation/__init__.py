"""Evaluation metrics of mmseg_redo (registered in mmseg's METRICS)."""
from .label_free_metric import LabelFreeMaskScore, border_band
from .redo_metric import ReDOMetric, binary_counts, redo_scores

__all__ = [
    'LabelFreeMaskScore', 'ReDOMetric', 'binary_counts', 'border_band',
    'redo_scores'
]
