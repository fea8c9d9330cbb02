"""Keep the output of deterministic transforms in memory."""
import copy
from typing import Dict, List, Optional

import numpy as np
from mmcv.transforms import BaseTransform, Compose

from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CachedCompose(BaseTransform):
    """Run deterministic transforms once per sample and replay their output.

    Why: ReDO trains for tens of thousands of iterations on a few thousand
    photos, and on a GPU decoding and resizing the same JPEGs again every
    epoch, not the networks, would set the pace. The decoded, resized
    128x128 images of a dataset this size take a few MiB to a few hundred
    MiB, so after the first epoch every sample is a dictionary copy.

    Each process (every data-loader worker) keeps its own cache, filled as
    samples pass through it; samples beyond ``max_mib`` are computed every
    time rather than stored. Only put transforms inside whose output
    depends on the file alone (loading, resizing, centre cropping): a random
    transform inside would be frozen at its first draw.

    Args:
        transforms (list[dict]): The deterministic transforms, in order.
        key (str): Results key naming the sample. Defaults to ``'img_path'``.
        max_mib (float): Cache size limit per process, in MiB, counting the
            numpy arrays of the stored results. Defaults to 1024.
    """

    def __init__(self,
                 transforms: List[dict],
                 key: str = 'img_path',
                 max_mib: float = 1024) -> None:
        self.transforms = Compose(transforms)
        self.key = key
        self.max_bytes = int(max_mib * 2**20)
        self._cache: Dict[str, dict] = {}
        self._cached_bytes = 0

    def transform(self, results: dict) -> Optional[dict]:
        """Stored output for a sample seen before, else compute (and store).

        Args:
            results (dict): Must hold ``self.key``.

        Returns:
            dict: A copy of the transforms' output (later transforms may
            change it in place without touching the cache).
        """
        name = results[self.key]
        if name in self._cache:
            return copy.deepcopy(self._cache[name])
        output = self.transforms(results)
        if output is None:
            return None
        size = sum(value.nbytes for value in output.values()
                   if isinstance(value, np.ndarray))
        if self._cached_bytes + size <= self.max_bytes:
            self._cache[name] = copy.deepcopy(output)
            self._cached_bytes += size
        return output

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(transforms={self.transforms}, '
                f'key={self.key!r}, max_mib={self.max_bytes / 2**20:g})')
