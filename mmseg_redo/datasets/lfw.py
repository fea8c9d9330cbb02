"""LFW-funneled with the part-label ground truth, ReDO's split."""
import os.path as osp
import re
from typing import List, Optional, Tuple

from mmseg.registry import DATASETS
from .base import ObjectSegDataset, read_list_file

_NUMBERED = re.compile(r'^(?P<person>.+)_(?P<num>\d{4})$')
#: Part-label files, in the order looked for: the official set ships
#: ``.ppm``; a PNG copy (pixel-identical) is read the same way.
LABEL_SUFFIXES = ('.ppm', '.png')


def parse_lfw_entry(line: str, path: str) -> Tuple[str, str]:
    """Return ``(person, image stem)`` for one line of an LFW split list.

    Accepted forms: ``Aaron_Peirsol Aaron_Peirsol_0001`` (ReDO's lists),
    ``Aaron_Peirsol 1`` (LFW's own lists) and ``Aaron_Peirsol_0001``.

    Args:
        line (str): One stripped line.
        path (str): The list file, for error messages.

    Returns:
        tuple[str, str]: The person's folder and the image stem.

    Raises:
        ValueError: The line has none of the accepted forms.
    """
    parts = line.split()
    if len(parts) == 2 and parts[1].isdigit():
        return parts[0], f'{parts[0]}_{int(parts[1]):04d}'
    if len(parts) == 2:
        return parts[0], parts[1]
    match = _NUMBERED.match(parts[0]) if len(parts) == 1 else None
    if match is None:
        raise ValueError(f'{path}: cannot read {line!r}; expected '
                         '"<person> <person>_NNNN" per line')
    return match['person'], parts[0]


@DATASETS.register_module()
class LFWDataset(ObjectSegDataset):
    """LFW-funneled faces; object = hair + face from the part labels.

    .. code-block:: none

        data_root/
        ├── lfw_funneled/<person>/<person>_NNNN.jpg
        ├── parts_lfw_funneled_gt_images/<person>_NNNN.ppm (or .png)
        └── train.txt, val.txt, test.txt   (ReDO's split lists)

    ReDO's lists hold ``<person> <person>_NNNN`` per line: ``train.txt``
    lists the 10,306 images without part labels, ``val.txt`` (1,327) and
    ``test.txt`` (1,600) the 2,927 labelled ones. The object is every pixel
    whose blue (background) channel is below 128 (rule ``lfw_parts``).
    Part labels are read from ``.ppm`` files, or from ``.png`` copies where
    there is no ``.ppm``; images with neither get no ``seg_map_path``.

    Args:
        ann_file (str): The split list, relative to ``data_root``. Defaults
            to ``'train.txt'``.
        data_prefix (dict): Image and label folders. Defaults to
            ``dict(img_path='lfw_funneled',
            seg_map_path='parts_lfw_funneled_gt_images')``.
        **kwargs: Passed to :class:`ObjectSegDataset`.
    """
    MASK_RULE = 'lfw_parts'

    def __init__(self,
                 ann_file: str = 'train.txt',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(
            ann_file=ann_file,
            data_prefix=data_prefix or dict(
                img_path='lfw_funneled',
                seg_map_path='parts_lfw_funneled_gt_images'),
            **kwargs)

    def list_samples(self) -> List[Tuple[str, Optional[str]]]:
        """List the images named in ``ann_file``."""
        samples = []
        for line in read_list_file(self.ann_file):
            person, stem = parse_lfw_entry(line, self.ann_file)
            samples.append((self._prefixed('img_path', person, stem + '.jpg'),
                            self._part_labels(stem)))
        return samples

    def _part_labels(self, stem: str) -> str:
        """The part-label file of ``stem``: the official ``.ppm``, or the
        same image re-saved losslessly as ``.png``."""
        for suffix in LABEL_SUFFIXES:
            path = self._prefixed('seg_map_path', stem + suffix)
            if osp.isfile(path):
                return path
        return self._prefixed('seg_map_path', stem + LABEL_SUFFIXES[0])
