"""Benchmarks of mmseg_redo: scored tables from a results store, and the
training speed. Beside the package, not installed; run from the repository
root as ``python -m benchmarks.results`` and ``python -m
benchmarks.train_speed``.
"""
