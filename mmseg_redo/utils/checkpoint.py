"""Let mmengine checkpoints load under torch >= 2.6's ``weights_only``.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``, which
refuses to unpickle anything but tensors and plain containers. mmengine
0.10.7 calls ``torch.load`` without the flag, and its checkpoints also hold
the message hub's ``HistoryBuffer`` (numpy arrays inside), so ``init_model``,
``load_from`` and ``--resume`` fail. Rather than switching ``weights_only``
off (which would let a checkpoint run arbitrary code), this module adds the
few types an mmengine checkpoint needs to torch's allow-list.
"""
from typing import List

import numpy as np
import torch


def _numpy_globals() -> List[object]:
    """The numpy callables and types that pickled arrays and scalars use."""
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtypes = [
        np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
        np.int64, np.uint8, np.bool_
    ]
    return [_reconstruct, scalar, np.ndarray, np.dtype] + [
        type(np.dtype(dtype)) for dtype in dtypes
    ]


def register_checkpoint_safe_globals() -> None:
    """Allow the types mmengine writes into checkpoints, and nothing else."""
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return  # torch < 2.4 has no allow-list and no weights_only default
    from mmengine.logging import HistoryBuffer
    torch.serialization.add_safe_globals([HistoryBuffer] + _numpy_globals())
