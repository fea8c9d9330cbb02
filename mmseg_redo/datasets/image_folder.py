"""Any folder of photos, without masks (train on your own images)."""
import hashlib
import logging
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.logging import print_log
from PIL import Image

from mmseg.registry import DATASETS
from .base import ObjectSegDataset

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
SPLITS = ('train', 'val', 'all')
#: Fewest images a folder needs for a train/val split.
MIN_SPLIT_IMAGES = 20


def held_out_count(num_images: int,
                   fraction: float = 0.1,
                   minimum: int = 4,
                   maximum: int = 200) -> int:
    """How many of ``num_images`` images the validation split holds.

    ``round(fraction * num_images)``, raised to ``minimum`` (so a small
    folder still has a few validation images) and capped at ``maximum``
    (so validation stays cheap on a large one).

    Args:
        num_images (int): Images in the folder.
        fraction (float): Share held out. Defaults to 0.1.
        minimum (int): Fewest held out. Defaults to 4.
        maximum (int): Most held out. Defaults to 200.

    Returns:
        int: The validation split's size.
    """
    return min(maximum, max(minimum, round(fraction * num_images)))


def path_rank(relative_path: str) -> str:
    """Sort key that orders files pseudo-randomly but reproducibly.

    The SHA-1 of the path relative to the folder, with ``/`` separators:
    it does not depend on where the folder lies, on the operating system
    or on the order the file system lists files in, and a file's key never
    changes when other files are added.

    Args:
        relative_path (str): Path of the file inside the folder.

    Returns:
        str: The hex digest.
    """
    posix = relative_path.replace(os.sep, '/')
    return hashlib.sha1(posix.encode('utf-8')).hexdigest()


def find_images(folder: str,
                suffixes: Sequence[str] = IMAGE_SUFFIXES) -> List[str]:
    """Every image file under ``folder`` (recursively), sorted.

    Files ending in one of ``suffixes`` (any case); hidden files and
    folders (names starting with ``.``, such as macOS' ``._*`` companions,
    which carry an image suffix but no image, or ``.thumbnails``) are left
    out. Linked folders are followed.

    Args:
        folder (str): The folder.
        suffixes (Sequence[str]): File endings, lower case. Defaults to
            :data:`IMAGE_SUFFIXES`.

    Returns:
        list[str]: Paths joined to ``folder``.
    """
    suffixes = tuple(suffixes)
    found = []
    for dirpath, dirnames, names in os.walk(folder, followlinks=True):
        # Pruned in place so os.walk does not descend into them.
        dirnames[:] = [d for d in dirnames if not d.startswith('.')]
        found += [
            osp.join(dirpath, name) for name in names
            if name.lower().endswith(suffixes) and not name.startswith('.')
        ]
    return sorted(found)


def output_names(rel_paths: Sequence[str]) -> Dict[str, str]:
    """The output name (relative, ``.png``) of each input image.

    ``a/b.jpg`` gives ``a/b.png``; photos that would share a name
    (``b.jpg`` and ``b.png`` in one folder) keep their suffix instead
    (``b.jpg.png``, ``b.png.png``), so no output overwrites another.

    Args:
        rel_paths (Sequence[str]): Relative image paths.

    Returns:
        dict[str, str]: Relative output path of each input.
    """
    by_stem = defaultdict(list)
    for rel in rel_paths:
        by_stem[osp.splitext(rel)[0]].append(rel)
    names = {}
    for stem, rels in by_stem.items():
        for rel in rels:
            names[rel] = (stem if len(rels) == 1 else rel) + '.png'
    return names


def find_broken_image(path: str) -> Optional[str]:
    """Why the image file at ``path`` cannot be used, or None if it can.

    Cheaper than decoding the file, but reads all of it, so truncated files
    are found: JPEGs are decoded at 1/8 scale (libjpeg's scaled decoding
    still reads the whole stream), PNGs have every chunk's CRC checked up
    to IEND without inflating the pixels, other formats are decoded.

    Args:
        path (str): The image file.

    Returns:
        str | None: The decoder's error, or None for a readable image.
    """
    try:
        with Image.open(path) as img:
            if img.format == 'PNG':
                img.verify()
            else:
                img.draft(None, (1, 1))
                img.load()
    except Exception as err:  # any decoder error means "unusable"
        return f'{type(err).__name__}: {err}'
    return None


@DATASETS.register_module()
class ImageFolderDataset(ObjectSegDataset):
    """Every image under a folder, searched recursively; no masks.

    Use it to train on your own photos. Files ending in one of
    ``suffixes`` (any case) are taken from the folder and all folders
    below it; hidden files and folders (names starting with ``.``, such as
    macOS' ``._*`` companions or ``.thumbnails``) are not.

    Splits: ``split='val'`` holds out a fixed part of the folder as an
    unlabelled validation split, ``'train'`` is the rest, ``'all'`` every
    image. The held-out files are the :func:`held_out_count` files (10% of
    the folder, at least 4, at most 200 by default) whose :func:`path_rank`
    (SHA-1 of the path inside the folder) is smallest. So the split is the
    same on every run and machine, and adding photos moves few files: an
    old training file only joins validation when the held-out count grows.
    A train/val split needs at least ``MIN_SPLIT_IMAGES`` (20) images.

    Broken files: every image of the split is checked when the dataset is
    built (:func:`find_broken_image`), so a corrupt or truncated file stops
    nothing hours into training. Broken files are skipped with one warning
    naming them all, or, with ``skip_broken=False``, refused with an error.
    They are split like the others before being skipped, so repairing or
    removing one never moves another file between splits.

    Args:
        split (str): ``'train'``, ``'val'`` or ``'all'``. Defaults to
            ``'all'``.
        data_prefix (dict): ``img_path`` is the folder, relative to
            ``data_root``. Defaults to ``dict(img_path='')``, i.e.
            ``data_root`` itself.
        suffixes (Sequence[str]): File endings to take, compared without
            regard to case. Defaults to :data:`IMAGE_SUFFIXES`.
        skip_broken (bool): Skip unreadable files with a warning (True) or
            raise an error naming them (False). Defaults to True.
        val_fraction (float): Share of the images held out. Defaults to
            0.1.
        min_val (int): Fewest images held out. Defaults to 4.
        max_val (int): Most images held out. Defaults to 200.
        seg_map_dir (str, optional): A folder of label PNGs (0 =
            background, 1 = object, 255 = ignore) named as
            :func:`output_names` names the photos, e.g. a teacher's
            pseudo-labels (``tools/make_pseudo_labels.py --folder``); the
            split then holds only the photos that have one. None (the
            default): no masks.
        **kwargs: Passed to :class:`ObjectSegDataset`.

    Raises:
        FileNotFoundError: The folder does not exist or holds no image.
        ValueError: A bad argument; too few images for a train/val split;
            no readable image in the split; or broken files with
            ``skip_broken=False``.
    """

    def __init__(self,
                 split: str = 'all',
                 data_prefix: Optional[dict] = None,
                 suffixes: Sequence[str] = IMAGE_SUFFIXES,
                 skip_broken: bool = True,
                 val_fraction: float = 0.1,
                 min_val: int = 4,
                 max_val: int = 200,
                 seg_map_dir: Optional[str] = None,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError('ImageFolderDataset split must be one of '
                             f'{SPLITS}, got {split!r}')
        if kwargs.get('require_masks') and seg_map_dir is None:
            raise ValueError('ImageFolderDataset has no masks: set '
                             'require_masks=False (its validation split is '
                             'scored by label-free metrics) or give '
                             'seg_map_dir')
        self.split = split
        self.suffixes = tuple(s.lower() for s in suffixes)
        self.skip_broken = skip_broken
        self.val_fraction = val_fraction
        self.min_val = min_val
        self.max_val = max_val
        self.seg_map_dir = seg_map_dir
        super().__init__(
            data_prefix=data_prefix or dict(img_path=''), **kwargs)

    def list_samples(self) -> List[Tuple[str, Optional[str]]]:
        """The split's readable images, sorted, with their label files
        where ``seg_map_dir`` is given."""
        folder = self.data_prefix.get('img_path') or '.'
        found = self._find_images(folder)
        chosen = self._choose_split(found, folder)
        readable = self._drop_broken(chosen, folder)
        if self.seg_map_dir is None:
            return [(path, None) for path in readable]
        return self._with_labels(readable, found, folder)

    def _with_labels(self, paths: List[str], found: List[str],
                     folder: str) -> List[Tuple[str, str]]:
        """``paths`` that have a label file in ``seg_map_dir``, with it.

        Names come from the whole folder (``found``), as the tools that
        write labels name them.
        """
        names = output_names([osp.relpath(p, folder) for p in found])
        labelled = [(path,
                     osp.join(self.seg_map_dir,
                              names[osp.relpath(path, folder)]))
                    for path in paths]
        kept = [(img, seg) for img, seg in labelled if osp.isfile(seg)]
        if not kept:
            raise FileNotFoundError(
                f'no label file of the {self.split!r} split\'s photos under '
                f'{self.seg_map_dir}; write them first (tools/'
                'make_pseudo_labels.py --folder) or fix seg_map_dir')
        if len(kept) < len(labelled):
            print_log(
                f'{len(labelled) - len(kept)} of the {len(labelled)} photos '
                f'of the {self.split!r} split have no label file under '
                f'{self.seg_map_dir} and are left out.',
                logger='current',
                level=logging.WARNING)
        return kept

    def _find_images(self, folder: str) -> List[str]:
        """Every image file under ``folder`` (recursively), sorted."""
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'image folder {folder} does not exist; set data_root (and '
                "data_prefix['img_path']) to your folder of photos")
        found = find_images(folder, self.suffixes)
        if not found:
            raise FileNotFoundError(
                f'no image ({" ".join(self.suffixes)}, any case) under '
                f'{folder}; put your photos there or set data_root to the '
                'folder that holds them')
        return found

    def _choose_split(self, paths: List[str], folder: str) -> List[str]:
        """The files of ``self.split`` (see the class docstring), sorted."""
        if self.split == 'all':
            return paths
        if len(paths) < MIN_SPLIT_IMAGES:
            raise ValueError(
                f'{folder} holds {len(paths)} images; a train/val split '
                f'needs at least {MIN_SPLIT_IMAGES} (ReDO learns from '
                'hundreds). Add photos, or train on all of them without '
                "validation: split='all' and val_dataloader, val_cfg and "
                'val_evaluator set to None.')
        num_val = held_out_count(
            len(paths), self.val_fraction, self.min_val, self.max_val)
        ranked = sorted(
            paths, key=lambda p: path_rank(osp.relpath(p, folder)))
        held_out = set(ranked[:num_val])
        return [p for p in paths if (p in held_out) == (self.split == 'val')]

    def _drop_broken(self, paths: List[str], folder: str) -> List[str]:
        """``paths`` without unreadable files: warn about them or raise."""
        broken: Dict[str, str] = {}
        for path in paths:
            reason = find_broken_image(path)
            if reason is not None:
                broken[path] = reason
        if not broken:
            return paths
        listing = '\n'.join(f'  {osp.relpath(p, folder)}: {why}'
                            for p, why in broken.items())
        summary = (f'{len(broken)} of the {len(paths)} files of the '
                   f'{self.split!r} split under {folder} cannot be read as '
                   f'images:\n{listing}\n')
        if not self.skip_broken:
            raise ValueError(summary + 'Delete or re-save them, or set '
                             'skip_broken=True to skip them with a warning.')
        readable = [p for p in paths if p not in broken]
        if not readable:
            raise ValueError(summary + 'No readable image is left in this '
                             'split: check that these are image files.')
        print_log(
            summary + 'They are skipped; delete or re-save them to use them.',
            logger='current',
            level=logging.WARNING)
        return readable
