"""Shared base for the two-class (background / object) datasets."""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from mmseg.datasets import BaseSegDataset

#: Two classes for every dataset of this project. The palette is only used
#: to draw predictions.
OBJECT_METAINFO = dict(
    classes=('background', 'object'), palette=[[0, 0, 0], [255, 170, 0]])

#: Where users are sent when a dataset is missing or malformed.
DATASETS_DOC = ('the "Datasets" section of the README '
                '(docs/datasets.md in the repository)')


def read_list_file(path: str) -> List[str]:
    """Read a split list: one entry per line, blanks and ``#`` lines skipped.

    Args:
        path (str): The list file.

    Returns:
        list[str]: The stripped, non-empty lines.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file lists nothing.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'split list {path} does not exist; see {DATASETS_DOC} for '
            'where to get it')
    with open(path, encoding='utf-8') as f:
        lines = [ln.strip() for ln in f]
    lines = [ln for ln in lines if ln and not ln.startswith('#')]
    if not lines:
        raise ValueError(f'split list {path} is empty; it must name one '
                         f'image per line (see {DATASETS_DOC})')
    return lines


def _examples(paths: Sequence[str], limit: int = 3) -> str:
    shown = ', '.join(paths[:limit])
    return shown + (f' (and {len(paths) - limit} more)'
                    if len(paths) > limit else '')


class ObjectSegDataset(BaseSegDataset):
    """Base for the binary object datasets (0 = background, 1 = object).

    Subclasses implement :meth:`list_samples`, returning ``(image path,
    mask path or None)`` pairs; this class checks the files exist and builds
    mmseg's data infos. Each info carries ``mask_rule`` (the subclass's
    ``MASK_RULE``), read by :class:`LoadObjectMask` to turn the dataset's
    own ground-truth format into 0/1/255. Masks are 0/1 with 255 = ignore,
    so ``reduce_zero_label`` is always False.

    Args:
        require_masks (bool): If True, every listed image must have a mask
            file (use it for val and test splits). If False, images without
            a mask are kept without ``seg_map_path`` (training never reads
            masks). Defaults to False.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.

    Raises:
        FileNotFoundError: ``data_root`` or a listed file does not exist.
        ValueError: ``reduce_zero_label=True`` was asked for.
    """
    METAINFO = OBJECT_METAINFO
    MASK_RULE = 'label'

    def __init__(self, require_masks: bool = False, **kwargs) -> None:
        if kwargs.pop('reduce_zero_label', False):
            raise ValueError(f'{type(self).__name__} masks use 0 for the '
                             'background class: reduce_zero_label must be '
                             'False')
        data_root = kwargs.get('data_root')
        if data_root is not None and not osp.isdir(data_root):
            raise FileNotFoundError(
                f'data root {data_root} of {type(self).__name__} does not '
                f'exist. Download the dataset and lay it out as {DATASETS_DOC}'
                ' describes, or set data_root to where it is.')
        self.require_masks = require_masks
        super().__init__(reduce_zero_label=False, **kwargs)

    def list_samples(self) -> List[Tuple[str, Optional[str]]]:
        """Return ``(image path, mask path or None)`` for the split.

        Returns:
            list[tuple[str, str | None]]: Paths, already joined with the data
            root and prefixes.
        """
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        """Build data infos from :meth:`list_samples`, checking the files.

        Returns:
            list[dict]: One info per image, with ``img_path``, ``mask_rule``
            and, where a mask exists, ``seg_map_path``.
        """
        samples = self.list_samples()
        missing_imgs = [img for img, _ in samples if not osp.isfile(img)]
        if missing_imgs:
            raise FileNotFoundError(
                f'{len(missing_imgs)} of {len(samples)} images listed for '
                f'{type(self).__name__} are missing: '
                f'{_examples(missing_imgs)}. Check data_root and the layout '
                f'in {DATASETS_DOC}.')
        missing_masks = [
            img for img, seg in samples if seg is None or not osp.isfile(seg)
        ]
        if self.require_masks and missing_masks:
            wanted = {img: seg for img, seg in samples}
            raise FileNotFoundError(
                f'{len(missing_masks)} of {len(samples)} images of this '
                f'{type(self).__name__} split have no mask, e.g. '
                f'{_examples([str(wanted[i]) for i in missing_masks])}. An '
                'evaluation split needs a mask for every image; check the '
                f'split list and {DATASETS_DOC}.')
        data_list = []
        for img, seg in samples:
            info = dict(
                img_path=img,
                mask_rule=self.MASK_RULE,
                label_map=self.label_map,
                reduce_zero_label=False,
                seg_fields=[])
            if seg is not None and osp.isfile(seg):
                info['seg_map_path'] = seg
            data_list.append(info)
        return data_list

    def _prefixed(self, key: str, *parts: str) -> str:
        """Join ``data_prefix[key]`` (already rooted) with ``parts``."""
        return osp.join(self.data_prefix.get(key) or '', *parts)
