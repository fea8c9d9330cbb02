"""Benchmarks of mmseg_redo: the scores table and the training speed.

Not imported by ``import mmseg_redo`` (nothing here is registered): the
tools ``tools/benchmark_table.py`` and
``tools/analysis_tools/benchmark_train.py`` are command lines over it.
"""
from .rows import (count_parameters, evaluate_config, load_entries,
                   missing_checkpoints, resolve_checkpoint, score_row)
from .run_logs import estimate_train_time, format_duration, validation_curve
from .table import (TABLE_END, TABLE_START, NoRowScored, markdown_table,
                    metafile, write_benchmark_table, write_readme_table)
from .train_speed import benchmark_train

__all__ = [
    'NoRowScored', 'TABLE_END', 'TABLE_START', 'benchmark_train',
    'count_parameters', 'estimate_train_time', 'evaluate_config',
    'format_duration', 'load_entries', 'markdown_table', 'metafile',
    'missing_checkpoints', 'resolve_checkpoint', 'score_row',
    'validation_curve', 'write_benchmark_table', 'write_readme_table'
]
