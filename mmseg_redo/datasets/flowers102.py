"""Oxford Flowers-102 with the official segmentations, ReDO's split."""
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np
from scipy import io as sio

from mmseg.registry import DATASETS
from .base import DATASETS_DOC, ObjectSegDataset


@DATASETS.register_module()
class Flowers102Dataset(ObjectSegDataset):
    """Oxford Flowers-102 in its official layout.

    .. code-block:: none

        data_root/
        ├── jpg/image_00001.jpg ...      (102flowers.tgz)
        ├── segmim/segmim_00001.jpg ...  (102segmentations.tgz)
        └── setid.mat                    (trnid, valid, tstid: 1-based ids)

    The object is every segmim pixel that is not painted background blue
    (rule ``flowers102_segmim``). ReDO inverts the official split, training
    on the large ``tstid`` set: ``train`` = ``tstid`` (6149 images), ``val``
    = ``valid`` (1020), ``test`` = ``trnid`` (1020).

    Args:
        split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to
            ``'train'``.
        ann_file (str): The split file, relative to ``data_root``. Defaults
            to ``'setid.mat'``.
        data_prefix (dict): Image and segmim folders. Defaults to
            ``dict(img_path='jpg', seg_map_path='segmim')``.
        **kwargs: Passed to :class:`ObjectSegDataset`.
    """
    MASK_RULE = 'flowers102_segmim'
    SPLIT_KEYS = dict(train='tstid', val='valid', test='trnid')

    def __init__(self,
                 split: str = 'train',
                 ann_file: str = 'setid.mat',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in self.SPLIT_KEYS:
            raise ValueError(f'split must be one of {list(self.SPLIT_KEYS)},'
                             f' got {split!r}')
        self.split = split
        super().__init__(
            ann_file=ann_file,
            data_prefix=data_prefix
            or dict(img_path='jpg', seg_map_path='segmim'),
            **kwargs)

    def list_samples(self) -> List[Tuple[str, Optional[str]]]:
        """List the split's images from ``setid.mat``."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'split file {self.ann_file} does not exist; get setid.mat '
                f'as {DATASETS_DOC} explains')
        key = self.SPLIT_KEYS[self.split]
        try:
            ids = sio.loadmat(self.ann_file)[key]
        except Exception as err:
            raise ValueError(f'cannot read {key!r} from {self.ann_file} '
                             f'({err}); re-download setid.mat') from err
        ids = np.asarray(ids).ravel().astype(int)
        if ids.size == 0:
            raise ValueError(f'{key!r} in {self.ann_file} lists no image')
        return [(self._prefixed('img_path', f'image_{i:05d}.jpg'),
                 self._prefixed('seg_map_path', f'segmim_{i:05d}.jpg'))
                for i in ids]
