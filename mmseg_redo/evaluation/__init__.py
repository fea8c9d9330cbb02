"""Evaluation metrics of mmseg_redo (registered in mmseg's METRICS)."""
from .redo_metric import ReDOMetric, binary_counts, redo_scores

__all__ = ['ReDOMetric', 'binary_counts', 'redo_scores']
