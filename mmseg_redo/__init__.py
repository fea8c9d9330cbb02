"""mmseg_redo: ReDO (unsupervised object segmentation by redrawing) for
MMSegmentation 1.x.

Importing the package registers every model, dataset, transform, metric,
hook and optimizer constructor in mmseg's registries, and makes mmengine
checkpoints loadable under torch >= 2.6's ``weights_only`` default.
"""
from .utils import register_checkpoint_safe_globals

register_checkpoint_safe_globals()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__version__ = '0.1.0'
__all__ = ['datasets', 'engine', 'evaluation', 'models', '__version__']
