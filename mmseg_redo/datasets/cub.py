"""CUB-200-2011 with its soft segmentations, ReDO's split."""
import os.path as osp
from typing import Dict, List, Optional, Tuple

from mmseg.registry import DATASETS
from .base import ObjectSegDataset, read_list_file


def read_id_table(path: str, what: str) -> Dict[str, str]:
    """Parse ``<image_id> <value>`` lines into a dict.

    Args:
        path (str): The file to read.
        what (str): Name of the second column, for error messages.

    Returns:
        dict[str, str]: Second column keyed by image id.

    Raises:
        ValueError: A line does not have exactly two fields.
    """
    table = {}
    for num, line in enumerate(read_list_file(path), 1):
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f'{path}: entry {num} {line!r} is not '
                             f'"<image_id> <{what}>"')
        table[parts[0]] = parts[1]
    return table


@DATASETS.register_module()
class CUBDataset(ObjectSegDataset):
    """CUB-200-2011, full images (no bounding-box crop).

    .. code-block:: none

        data_root/                          (CUB_200_2011/)
        ├── images/<class>/<name>.jpg
        ├── segmentations/<class>/<name>.png
        ├── images.txt                      (<image_id> <class>/<name>.jpg)
        └── train_val_test_split.txt        (<image_id> <0|1|2>)

    ``train_val_test_split.txt`` is ReDO's split file (``datasplits/cub`` in
    the ReDO repository, not part of CUB): one line ``<image_id> <split>``
    per image with 0 = train (10,000), 1 = val (788), 2 = test (1,000).
    The reference pairs its rows with ``images.txt`` by position; this class
    pairs them by image id, which is the same for the official files (ids
    1..11788 in order) and safe if a file is reordered. The soft masks are
    binarised at 0.5 of their first channel (rule ``cub_soft``).

    Args:
        split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to
            ``'train'``.
        ann_file (str): ReDO's split file, relative to ``data_root``.
            Defaults to ``'train_val_test_split.txt'``.
        images_file (str): CUB's id-to-path list, relative to ``data_root``.
            Defaults to ``'images.txt'``.
        data_prefix (dict): Image and mask folders. Defaults to
            ``dict(img_path='images', seg_map_path='segmentations')``.
        **kwargs: Passed to :class:`ObjectSegDataset`.
    """
    MASK_RULE = 'cub_soft'
    SPLIT_IDS = dict(train='0', val='1', test='2')

    def __init__(self,
                 split: str = 'train',
                 ann_file: str = 'train_val_test_split.txt',
                 images_file: str = 'images.txt',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in self.SPLIT_IDS:
            raise ValueError(f'split must be one of {list(self.SPLIT_IDS)}, '
                             f'got {split!r}')
        self.split = split
        root = kwargs.get('data_root')
        self.images_file = (
            osp.join(root, images_file)
            if root and not osp.isabs(images_file) else images_file)
        super().__init__(
            ann_file=ann_file,
            data_prefix=data_prefix
            or dict(img_path='images', seg_map_path='segmentations'),
            **kwargs)

    def list_samples(self) -> List[Tuple[str, Optional[str]]]:
        """List the split's images, matching the two files by image id."""
        names = read_id_table(self.images_file, 'class/name.jpg')
        splits = read_id_table(self.ann_file, 'split 0|1|2')
        unknown = sorted(set(splits) - set(names), key=str)
        if unknown:
            raise ValueError(
                f'{len(unknown)} image ids of {self.ann_file} are not in '
                f'{self.images_file}, e.g. {unknown[:3]}: the two files do '
                'not belong to the same dataset')
        wanted = self.SPLIT_IDS[self.split]
        chosen = [names[i] for i, s in splits.items() if s == wanted]
        if not chosen:
            raise ValueError(f'{self.ann_file} puts no image in split '
                             f'{self.split!r} (split id {wanted})')
        return [(self._prefixed('img_path', name),
                 self._prefixed('seg_map_path',
                                osp.splitext(name)[0] + '.png'))
                for name in chosen]
