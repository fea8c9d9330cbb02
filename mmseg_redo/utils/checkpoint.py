"""Safe, clear checkpoint loading for mmengine under torch >= 2.6.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``, which
refuses to unpickle anything but tensors, plain containers and allow-listed
types. mmengine 0.10.7 calls ``torch.load`` without the flag, and its
checkpoints hold the message hub's ``HistoryBuffer`` (numpy arrays inside),
so ``init_model``, ``load_from`` and ``--resume`` fail. Rather than switching
``weights_only`` off (which would let a checkpoint run arbitrary code), this
module:

* adds the few types an mmengine checkpoint needs to torch's allow-list;
* writes checkpoints whose message hub pickles as plain data
  (:func:`make_checkpoint_weights_only`): a stock ``HistoryBuffer`` pickles
  its statistics functions through ``getattr``, which no allow-list should
  contain;
* replaces mmengine's local checkpoint loader by one that always passes
  ``weights_only=True`` and turns unreadable, truncated or unsafe files into
  errors that name the file and say what to do;
* checks, when a state dict is loaded into ReDO, that shapes match
  (mmengine only warns, and training then starts from random weights), and
  reads checkpoints of DDP runs whose keys still hold the wrappers'
  ``.module.`` (:func:`check_state_dict_compatible`).
"""
import os
import os.path as osp
import pickle
import weakref
import zipfile
from collections import OrderedDict
from typing import Any, Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, get_state_dict

#: Which file each loaded state dict came from, keyed by one of its tensors
#: (weakly, so nothing is kept alive), to name the file in load errors.
_SOURCE_FILES: 'weakref.WeakKeyDictionary[torch.Tensor, str]' = (
    weakref.WeakKeyDictionary())


class WeightsOnlyHistoryBuffer(HistoryBuffer):
    """A ``HistoryBuffer`` that pickles as plain data.

    mmengine's ``HistoryBuffer.__getstate__`` adds its statistics methods
    (functions, pickled as ``getattr(HistoryBuffer, 'mean')``), which
    ``torch.load(weights_only=True)`` rightly refuses. This subclass drops
    them; ``__setstate__`` restores the defaults, so a loaded buffer behaves
    exactly like the original (custom statistics registered on the class
    stay available, as they live on the class).
    """

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop('statistics_methods', None)
        return state

    @classmethod
    def from_buffer(cls, buffer: HistoryBuffer) -> 'WeightsOnlyHistoryBuffer':
        """Copy a ``HistoryBuffer``'s history into a new buffer."""
        log_history, count_history = buffer.data
        new = cls(max_length=buffer.max_length)
        new._log_history = np.array(log_history, copy=True)
        new._count_history = np.array(count_history, copy=True)
        return new


def make_checkpoint_weights_only(checkpoint: Dict[str, Any]) -> None:
    """Make an mmengine checkpoint dict loadable with ``weights_only=True``.

    Replaces, in place, the message hub's history buffers by
    :class:`WeightsOnlyHistoryBuffer` copies. Call it on the dict passed to
    ``before_save_checkpoint`` (as :class:`SafeCheckpointHook` does).

    Args:
        checkpoint (dict): The checkpoint about to be saved.
    """
    scalars = checkpoint.get('message_hub', {}).get('log_scalars', {})
    for key, buffer in list(scalars.items()):
        if isinstance(buffer, HistoryBuffer) and not isinstance(
                buffer, WeightsOnlyHistoryBuffer):
            scalars[key] = WeightsOnlyHistoryBuffer.from_buffer(buffer)


def _numpy_globals() -> List[object]:
    """The numpy callables and types that pickled arrays and scalars use."""
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtypes = [
        np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
        np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_
    ]
    return [_reconstruct, scalar, np.ndarray, np.dtype
            ] + [type(np.dtype(dtype)) for dtype in dtypes]


def _describe_failure(filename: str, error: BaseException) -> str:
    """Why ``filename`` could not be read and what to do, for an error."""
    if isinstance(error,
                  pickle.UnpicklingError) and ('Weights only load failed'
                                               in str(error)):
        # torch's own explanation, without its advice to switch the
        # protection off.
        reason = ' '.join(
            line.strip() for line in str(error).splitlines()
            if 'GLOBAL' in line or 'WeightsUnpickler error' in line
            or 'unrecognized' in line)
        return (
            f'Refusing to load checkpoint {filename}: it holds pickled '
            f'objects outside the allow-list of torch.load(weights_only='
            f'True), and unpickling them could run arbitrary code '
            f'({reason.rstrip(".") or "see torch.load"}). If the file '
            'comes from a trusted source (for example a checkpoint '
            'written by mmseg_redo before checkpoints became '
            'weights-only), convert it once with '
            'mmseg_redo.utils.checkpoint.convert_trusted_checkpoint'
            f"('{filename}'); otherwise do not use it.")
    return (f'Cannot read checkpoint {filename} '
            f'({type(error).__name__}: {error}). The file is truncated or '
            'corrupt (e.g. its copy or a run writing it was interrupted). '
            'Delete it and use an earlier checkpoint: for --resume, write the '
            "earlier file's path into the work dir's last_checkpoint file, or "
            'pass it as load_from together with --resume.')


def load_from_local(filename: str, map_location: Optional[Any] = None) -> dict:
    """mmengine's local checkpoint loader, weights-only and with clear errors.

    Registered for local paths by :func:`register_checkpoint_safe_globals`,
    so ``init_model``, ``load_from`` and ``--resume`` all go through it.

    Args:
        filename (str): Path of the checkpoint.
        map_location (optional): As for ``torch.load``.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: The file does not exist.
        pickle.UnpicklingError: The file holds objects outside the
            weights-only allow-list (possibly malicious).
        RuntimeError: The file is truncated or corrupt.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint {filename} does not exist.')
    try:
        # weights_only=True explicitly: TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD and
        # older torch defaults must not turn code execution back on.
        checkpoint = torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if 'Weights only load failed' in str(error):
            raise pickle.UnpicklingError(_describe_failure(filename,
                                                           error)) from None
        raise RuntimeError(_describe_failure(filename, error)) from error
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError,
            OSError) as error:
        raise RuntimeError(_describe_failure(filename, error)) from error
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else None
    if isinstance(state_dict, dict):
        first = next(
            (v for v in state_dict.values() if isinstance(v, torch.Tensor)),
            None)
        if first is not None:
            _SOURCE_FILES[first] = filename
    return checkpoint


def convert_trusted_checkpoint(src: str, dst: Optional[str] = None) -> str:
    """Rewrite a *trusted* old checkpoint so it loads with weights only.

    Only for files you trust: the source is unpickled with
    ``weights_only=False``.

    Args:
        src (str): The trusted checkpoint.
        dst (str, optional): Where to write the result. Defaults to
            overwriting ``src`` (atomically).

    Returns:
        str: The path written.
    """
    checkpoint = torch.load(src, map_location='cpu', weights_only=False)
    make_checkpoint_weights_only(checkpoint)
    dst = dst or src
    tmp = f'{dst}.tmp'
    torch.save(checkpoint, tmp)
    os.replace(tmp, dst)
    return dst


def shape_mismatches(own: Dict[str, torch.Tensor],
                     state_dict: Dict[str, Any],
                     prefix: str = '') -> List[str]:
    """The model's tensors whose shape in ``state_dict`` differs.

    Args:
        own (dict): The model's state dict.
        state_dict (dict): The loaded one, its keys ``prefix`` + the
            model's names.
        prefix (str): Key prefix of the model in ``state_dict``.

    Returns:
        list[str]: ``'name: checkpoint (shape), model (shape)'`` for each.
    """
    return [
        f'{name}: checkpoint {tuple(state_dict[prefix + name].shape)}, '
        f'model {tuple(value.shape)}' for name, value in own.items()
        if isinstance(state_dict.get(prefix + name), torch.Tensor)
        and state_dict[prefix + name].shape != value.shape
    ]


def check_state_dict_compatible(module: nn.Module, state_dict: dict,
                                prefix: str, *args) -> None:
    """Load-state-dict pre-hook: fix DDP keys, refuse mismatched shapes.

    Registered on :class:`ReDO`, so it runs for ``init_model``,
    ``load_from``, ``--resume`` and ``load_state_dict`` alike.

    * Keys saved from a model whose children were DDP-wrapped
      (``mask_net.module.encoder...``, written by mmengine before
      :class:`SafeCheckpointHook`) are renamed to the plain names, so such
      checkpoints load instead of being silently skipped.
    * A parameter or buffer whose shape differs from the model's means the
      checkpoint comes from another config. mmengine would only warn and
      keep the random weights; this raises an error naming the file.

    Args:
        module (nn.Module): The model being loaded.
        state_dict (dict): The state dict, modified in place.
        prefix (str): The model's key prefix in ``state_dict``.
        *args: The remaining arguments of torch's pre-hook (unused).

    Raises:
        RuntimeError: Shapes differ, or no key of the model is present.
    """
    # Names without DDP wrappers, as mmengine's load_state_dict (which
    # unwraps them while loading) expects.
    own = get_state_dict(module)
    for key in [k for k in state_dict if k.startswith(prefix)]:
        name = key[len(prefix):]
        head, sep, rest = name.partition('.module.')
        plain = f'{head}.{rest}'
        if sep and name not in own and plain in own and (
                prefix + plain) not in state_dict:
            state_dict[prefix + plain] = state_dict.pop(key)

    source = next(
        (_SOURCE_FILES.get(v)
         for v in state_dict.values() if isinstance(v, torch.Tensor)), None)
    where = f'checkpoint {source}' if source else 'the state dict'
    mismatched = shape_mismatches(own, state_dict, prefix)
    if mismatched:
        shown = '; '.join(mismatched[:5])
        more = f' (and {len(mismatched) - 5} more)' if len(
            mismatched) > 5 else ''
        raise RuntimeError(
            f'Cannot load {where} into {type(module).__name__}: '
            f'{len(mismatched)} tensor shapes differ, e.g. {shown}{more}. '
            'The checkpoint was trained with another config (network '
            'widths, image size, number of regions or z_dim): use the '
            "config it was trained with (stored in its meta['cfg']).")
    if own and not any(prefix + name in state_dict for name in own):
        raise RuntimeError(
            f'Cannot load {where} into {type(module).__name__}: none of '
            'its keys belong to this model (e.g. '
            f'{next(iter(state_dict), None)!r}). Is it a checkpoint of '
            'another model?')


def register_checkpoint_safe_globals() -> None:
    """Load mmengine checkpoints safely: allow-list, loader, clear errors.

    Allows the types mmengine writes into checkpoints (and nothing else) and
    registers :func:`load_from_local` as mmengine's loader of local files,
    both for the whole process: mmseg's ``init_model`` and inferencer load
    through mmengine's loader, not through ReDO's code. Called when
    ``mmseg_redo`` is imported; its docstring says what other checkpoints
    see.
    """
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return  # torch < 2.4 has no allow-list and no weights_only default
    torch.serialization.add_safe_globals(
        [HistoryBuffer, WeightsOnlyHistoryBuffer, OrderedDict] +
        _numpy_globals())


#: Where a mask net's weights sit in the checkpoints it can start from: a
#: ReDO checkpoint, or an mmseg ``EncoderDecoder`` of the mask net's
#: architecture (backbone = encoder, decode head = head).
_MASK_NET_PREFIXES = (('mask_net.', ''), ('backbone.', 'encoder.'),
                      ('decode_head.', 'head.'))


def load_mask_net_weights(mask_net: nn.Module, filename: str) -> None:
    """Load a mask net's weights from a ReDO or an mmseg checkpoint.

    For a warm start: ReDO's mask net begins training from masks it was
    fitted to (e.g. box GrabCut's, by a supervised ``EncoderDecoder`` whose
    backbone and decode head are the mask net's encoder and head), while
    the other networks start from scratch.

    Args:
        mask_net (nn.Module): The :class:`ReDOMaskNet` to load into.
        filename (str): Checkpoint with keys ``mask_net.*`` (ReDO) or
            ``backbone.*`` and ``decode_head.*`` (mmseg ``EncoderDecoder``).

    Raises:
        RuntimeError: The checkpoint holds no mask net, or one of another
            architecture (the message names the file and the keys).
    """
    checkpoint = load_from_local(filename, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint)
    weights = {
        new + key[len(old):]: value
        for key, value in state_dict.items()
        for old, new in _MASK_NET_PREFIXES if key.startswith(old)
    }
    own = mask_net.state_dict()
    missing = sorted(set(own) - set(weights))
    mismatched = shape_mismatches(own, weights)
    if missing or mismatched:
        problem = (f'{len(mismatched)} shapes differ, e.g. {mismatched[0]}'
                   if mismatched else
                   f'{len(missing)} weights are missing, e.g. {missing[0]}')
        raise RuntimeError(
            f'Cannot start the mask net from checkpoint {filename}: '
            f'{problem}. It must hold a mask net of the same architecture, '
            "as a ReDO model's mask_net.* or an mmseg EncoderDecoder's "
            'backbone.* and decode_head.* (e.g. trained with configs/redo/'
            'redo_masknet_warm_start_cpu.py).')
    mask_net.load_state_dict({key: weights[key] for key in own})
