"""The built-in synthetic demo data: rendered in memory, nothing on disk."""
from typing import List, Optional

import numpy as np

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from .base import OBJECT_METAINFO
from .synthetic_render import render_synthetic_sample


@DATASETS.register_module()
class SyntheticObjectsDataset(BaseSegDataset):
    """Seeded synthetic images of one object on a textured background.

    Samples come from :func:`render_synthetic_sample`; see its module for
    the looks (object and background drawn independently; by default their
    colours come from the same distribution, with ``palette='split'`` vivid
    objects sit on muted scenes, as in the demo). Sample ``i`` of a split is
    rendered from ``np.random.default_rng([seed, split id, i])``, so it does
    not depend on ``num_samples`` and the three splits never share an
    image even with the same ``seed``. All samples are rendered once when
    the dataset is built and kept in its data list (a 64x64 sample takes
    about a millisecond).

    Each data info carries ``synthetic_img`` (uint8, **BGR**, as mmcv's
    image loaders give, so one ``SegDataPreProcessor(bgr_to_rgb=True)``
    serves every dataset) and ``synthetic_mask`` (uint8 0/1); the
    :class:`LoadSyntheticSample` transform moves them into the pipeline.

    Args:
        num_samples (int): Number of images. Defaults to 1000.
        size (int): Side of the square images in pixels. Defaults to 64.
        seed (int): Base seed (non-negative). Defaults to 0.
        split (str): ``'train'``, ``'val'`` or ``'test'``; mixed into the
            seed. Defaults to ``'train'``.
        style (dict, optional): Keyword arguments of
            :func:`render_synthetic_sample` that choose the look
            (``fine_pattern``, ``noise_std``, ``background``, ``palette``).
            Defaults to None (the renderer's defaults).
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`
            (``pipeline``, ``test_mode``, ...).
    """
    METAINFO = OBJECT_METAINFO
    SPLITS = ('train', 'val', 'test')

    def __init__(self,
                 num_samples: int = 1000,
                 size: int = 64,
                 seed: int = 0,
                 split: str = 'train',
                 style: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'split must be one of {self.SPLITS}, got '
                             f'{split!r}')
        if num_samples < 1 or size < 16 or seed < 0:
            raise ValueError('need num_samples >= 1, size >= 16 and seed >= '
                             f'0, got {num_samples}, {size}, {seed}')
        self.num_samples = num_samples
        self.size = size
        self.seed = seed
        self.split = split
        self.style = dict(style or {})
        super().__init__(reduce_zero_label=False, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Render every sample of the split.

        Returns:
            list[dict]: Data infos holding the arrays.
        """
        split_id = self.SPLITS.index(self.split)
        data_list = []
        for idx in range(self.num_samples):
            rng = np.random.default_rng([self.seed, split_id, idx])
            rgb, mask = render_synthetic_sample(rng, self.size,
                                                 **self.style)
            data_list.append(
                dict(
                    # Not a file: names the sample in logs and outputs.
                    img_path=f'synthetic/{self.split}/seed{self.seed}/'
                    f'{idx:05d}.png',
                    synthetic_img=np.ascontiguousarray(rgb[..., ::-1]),
                    synthetic_mask=mask,
                    label_map=None,
                    reduce_zero_label=False,
                    seg_fields=[]))
        return data_list
