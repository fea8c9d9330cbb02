"""Benchmarks of mmseg_redo: the scores tables and the training speed.

Not imported by ``import mmseg_redo`` (nothing here is registered): the
tools ``tools/benchmark_table.py`` and
``tools/analysis_tools/benchmark_train.py`` are command lines over it.
"""
from .mask_rows import score_mask_row
from .rows import (count_parameters, evaluate_config, load_entries,
                   missing_checkpoints, resolve_checkpoint, score_row)
from .run_logs import estimate_train_time, format_duration, validation_curve
from .store import ResultsStore
from .table import (TABLE_END, TABLE_START, markdown_table, metafile,
                    write_readme_table)
from .train_speed import benchmark_train
from .workflow import write_benchmark_table

__all__ = [
    'ResultsStore', 'TABLE_END', 'TABLE_START', 'benchmark_train',
    'count_parameters', 'estimate_train_time', 'evaluate_config',
    'format_duration', 'load_entries', 'markdown_table', 'metafile',
    'missing_checkpoints', 'resolve_checkpoint', 'score_mask_row', 'score_row',
    'validation_curve', 'write_benchmark_table', 'write_readme_table'
]
