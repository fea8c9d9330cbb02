"""Where a photo folder's outputs go, and writing one photo's files.

Each image under the photo folder gets, under the output folder and named
by :func:`~mmseg_redo.datasets.image_folder.output_names` (its relative
path with a ``.png`` suffix): a mask (``masks/``), an RGBA cut-out
(``cutouts/``) and an outlined thumbnail (``thumbs/``, ``.jpg``), each
written under a temporary name and renamed, so a killed run leaves a file
whole or absent.
"""
import os.path as osp
from typing import List

import cv2
import numpy as np

from ..datasets.image_folder import find_images, output_names
from ..utils.file_io import write_bytes_whole
from ..visualization.mask_overlay import overlay_thumbnail

#: Longer side of the review thumbnails, in pixels.
THUMB_SIZE = 160


def list_images(in_dir: str) -> List[str]:
    """Image paths under ``in_dir``, relative to it, sorted.

    The images ``ImageFolderDataset`` trains on
    (:func:`~mmseg_redo.datasets.image_folder.find_images`).

    Args:
        in_dir (str): The folder, searched recursively.

    Returns:
        list[str]: Paths relative to ``in_dir``.
    """
    return [osp.relpath(path, in_dir) for path in find_images(in_dir)]


def cutout(photo: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """BGRA photo whose alpha is the mask (255 = object)."""
    return np.dstack([photo, mask * np.uint8(255)])


def encode(image: np.ndarray, suffix: str) -> bytes:
    """``image`` encoded by OpenCV as ``suffix`` ('.png', '.jpg')."""
    ok, data = cv2.imencode(suffix, image)
    if not ok:
        raise OSError(f'OpenCV could not encode an image as {suffix}')
    return data.tobytes()


class FolderOutputs:
    """Where the outputs of a folder's photos go.

    Args:
        in_dir (str): The photo folder.
        out_dir (str): The output folder.
    """

    def __init__(self, in_dir: str, out_dir: str) -> None:
        self.in_dir = in_dir
        self.out_dir = out_dir
        self.rel_paths = list_images(in_dir)
        self.names = output_names(self.rel_paths)

    def mask(self, rel: str) -> str:
        """The mask's path, relative to ``out_dir``."""
        return osp.join('masks', self.names[rel])

    def cutout(self, rel: str) -> str:
        """The cut-out's path, relative to ``out_dir``."""
        return osp.join('cutouts', self.names[rel])

    def thumb(self, rel: str) -> str:
        """The thumbnail's path, relative to ``out_dir``."""
        return osp.join('thumbs', osp.splitext(self.names[rel])[0] + '.jpg')

    def files_exist(self, rel: str) -> bool:
        """Whether the photo's mask, cut-out and thumbnail all exist."""
        return all(
            osp.isfile(osp.join(self.out_dir, path))
            for path in (self.mask(rel), self.cutout(rel), self.thumb(rel)))

    def write_photo(self, rel: str, photo: np.ndarray,
                    mask: np.ndarray) -> None:
        """Write one photo's mask, cut-out and thumbnail.

        Args:
            rel (str): The photo's path relative to ``in_dir``.
            photo (np.ndarray): The photo as the config decodes it (BGR).
            mask (np.ndarray): (H, W) uint8, 1 = object.
        """
        write_bytes_whole(
            osp.join(self.out_dir, self.mask(rel)),
            encode(mask * np.uint8(255), '.png'))
        write_bytes_whole(
            osp.join(self.out_dir, self.cutout(rel)),
            encode(cutout(photo, mask), '.png'))
        write_bytes_whole(
            osp.join(self.out_dir, self.thumb(rel)),
            encode(overlay_thumbnail(photo, mask, THUMB_SIZE), '.jpg'))
