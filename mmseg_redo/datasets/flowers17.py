"""Oxford Flowers-17 with foreground masks (the project's test data)."""
from typing import List, Optional, Tuple

from mmseg.registry import DATASETS
from .base import ObjectSegDataset, read_list_file


@DATASETS.register_module()
class Flowers17Dataset(ObjectSegDataset):
    """Oxford 17-category flowers with 0/1/255 masks.

    .. code-block:: none

        data_root/
        ├── images/image_NNNN.jpg
        ├── masks/image_NNNN.png      (0 = background, 1 = flower,
        │                              255 = ignore; not for every image)
        └── train.txt, val.txt, test.txt   (one file stem per line)

    Training images may have no mask; val and test images all have one.

    Args:
        ann_file (str): The split list, relative to ``data_root``. Defaults
            to ``'train.txt'``.
        data_prefix (dict): Image and mask folders. Defaults to
            ``dict(img_path='images', seg_map_path='masks')``.
        **kwargs: Passed to :class:`ObjectSegDataset`.
    """
    MASK_RULE = 'label'

    def __init__(self,
                 ann_file: str = 'train.txt',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(
            ann_file=ann_file,
            data_prefix=data_prefix
            or dict(img_path='images', seg_map_path='masks'),
            **kwargs)

    def list_samples(self) -> List[Tuple[str, Optional[str]]]:
        """List the stems named in ``ann_file``."""
        return [(self._prefixed('img_path', stem + '.jpg'),
                 self._prefixed('seg_map_path', stem + '.png'))
                for stem in read_list_file(self.ann_file)]
