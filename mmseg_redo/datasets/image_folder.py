"""Any folder of photos, without masks (train on your own images)."""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from mmseg.registry import DATASETS
from .base import ObjectSegDataset

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')


@DATASETS.register_module()
class ImageFolderDataset(ObjectSegDataset):
    """Every image under a folder, searched recursively; no masks.

    Use it to train on your own photos. There is nothing to score, so a
    config using it has no validation or test loop (see
    ``configs/_base_/datasets/image_folder.py``).

    Args:
        data_prefix (dict): ``img_path`` is the folder, relative to
            ``data_root``. Defaults to ``dict(img_path='')``, i.e.
            ``data_root`` itself.
        suffixes (Sequence[str]): File endings to take, compared without
            regard to case. Defaults to ``('.jpg', '.jpeg', '.png',
            '.bmp')``.
        **kwargs: Passed to :class:`ObjectSegDataset`.

    Raises:
        FileNotFoundError: The folder does not exist or holds no image.
    """

    def __init__(self,
                 data_prefix: Optional[dict] = None,
                 suffixes: Sequence[str] = IMAGE_SUFFIXES,
                 **kwargs) -> None:
        self.suffixes = tuple(s.lower() for s in suffixes)
        if kwargs.get('require_masks'):
            raise ValueError('ImageFolderDataset has no masks: it cannot '
                             'serve an evaluation split')
        super().__init__(
            data_prefix=data_prefix or dict(img_path=''), **kwargs)

    def list_samples(self) -> List[Tuple[str, Optional[str]]]:
        """List every image file under the folder, sorted."""
        folder = self.data_prefix.get('img_path') or '.'
        if not osp.isdir(folder):
            raise FileNotFoundError(f'image folder {folder} does not exist')
        found = sorted(
            osp.join(dirpath, name)
            for dirpath, _, names in os.walk(folder, followlinks=True)
            for name in names if name.lower().endswith(self.suffixes))
        if not found:
            raise FileNotFoundError(
                f'no image ({"/".join(self.suffixes)}) under {folder}')
        return [(path, None) for path in found]
