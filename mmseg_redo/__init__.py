"""mmseg_redo: ReDO (unsupervised object segmentation by redrawing) for
MMSegmentation 1.x.

Importing the package registers every model, dataset, transform, metric,
hook and optimizer constructor in mmseg's registries.

It also changes how the whole process loads checkpoints, not only ReDO's
(:mod:`mmseg_redo.utils.checkpoint`):

* **What is replaced.** mmengine's loader of local files (the ``''``
  scheme of ``mmengine.runner.CheckpointLoader``, which ``load_checkpoint``,
  ``Runner``'s ``load_from`` and ``--resume``, and mmseg's ``init_model``,
  ``inference_model`` and ``MMSegInferencer`` all use) becomes
  :func:`~mmseg_redo.utils.checkpoint.load_from_local`, and a few types
  (numpy arrays, scalars and dtypes, ``OrderedDict``, mmengine's
  ``HistoryBuffer``) join torch's allow-list of ``weights_only`` loading,
  for every ``torch.load`` in the process. Remote schemes (``http://``,
  ``open-mmlab://``...) keep mmengine's loaders.
* **Why.** Since torch 2.6, ``torch.load`` unpickles weights only by
  default; mmengine 0.10.7 does not pass the flag, and its checkpoints hold
  the message hub's buffers (numpy arrays inside), so they would not load.
  Allowing those few types keeps the protection on, where switching
  ``weights_only`` off would let a checkpoint run arbitrary code. mmseg's
  own loading has to go through the replacement, which is why it is
  registered for the process rather than for ReDO's calls only.
* **What other checkpoints see.** Local files are always read with
  ``weights_only=True``, even with ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``
  set. Plain state dicts and checkpoints of tensors, containers, numbers
  and strings load as before. A file holding any other pickled object is
  refused with an error that names it, where mmengine would have passed on
  torch's error: for a *trusted* file, load it yourself with
  ``torch.load(path, weights_only=False)`` and save the parts you need
  (stock mmengine checkpoints: ``convert_trusted_checkpoint``). Truncated
  or corrupt files raise a ``RuntimeError`` that names the file.
"""
from .utils import register_checkpoint_safe_globals

register_checkpoint_safe_globals()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__version__ = '0.1.0'
__all__ = ['datasets', 'engine', 'evaluation', 'models', '__version__']
