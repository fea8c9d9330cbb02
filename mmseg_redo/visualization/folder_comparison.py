"""One contact sheet that compares several folders of masks, row by row.

Each folder is an output of :func:`mmseg_redo.apis.segment_folder` for the
same photos (for example ReDO alone, the recipe and GrabCut); the sheet has
one row per folder and one column per photo, drawn from the folders' own
thumbnails, so every method is shown with the review page's overlay.
"""
import csv
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import mmcv
import numpy as np

from .mask_overlay import contact_sheet


def _thumbnails_by_photo(folder: str) -> Dict[str, str]:
    """Each segmented photo of ``folder`` and its thumbnail's path."""
    scores = osp.join(folder, 'scores.csv')
    if not osp.isfile(scores):
        raise FileNotFoundError(
            f'{scores} not found: give output folders of '
            'tools/segment_folder.py (run it to the end; a rerun finishes '
            'an interrupted one)')
    with open(scores, newline='') as f:
        rows = [r for r in csv.DictReader(f) if r['mask']]
    # The thumbnail sits beside the mask under thumbs/, as a JPEG.
    return {
        r['photo']: osp.join(folder, 'thumbs',
                             osp.splitext(osp.relpath(r['mask'],
                                                      'masks'))[0] + '.jpg')
        for r in rows
    }


def spread_photos(folders: Sequence[str], num: int) -> List[str]:
    """``num`` photos segmented in every folder, evenly spread by path.

    Evenly spaced in the sorted list rather than the first ``num``, so the
    sheet is not one person's photos in a folder sorted by name, and no
    choice by eye enters it.

    Args:
        folders (Sequence[str]): Output folders of ``segment_folder``.
        num (int): Photos wanted.

    Returns:
        list[str]: Relative photo paths (fewer if fewer are shared).
    """
    shared = set.intersection(
        *(set(_thumbnails_by_photo(folder)) for folder in folders))
    if not shared:
        raise ValueError(f'no photo was segmented in all of {list(folders)}')
    photos = sorted(shared)
    if num >= len(photos):
        return photos
    picks = np.linspace(0, len(photos) - 1, num).round().astype(int)
    return [photos[i] for i in picks]


def compare_folders_sheet(folders: Sequence[Tuple[str, str]],
                          num: int = 8) -> Tuple[np.ndarray, List[str]]:
    """A sheet with one row of thumbnails per folder, the same photos.

    Args:
        folders (Sequence[tuple[str, str]]): ``(label, folder)`` pairs; the
            label captions that folder's row.
        num (int): Photos (columns). Defaults to 8.

    Returns:
        tuple[np.ndarray, list[str]]: The BGR sheet and the photos shown.
    """
    photos = spread_photos([folder for _, folder in folders], num)
    thumbnails, captions = [], []
    for label, folder in folders:
        paths = _thumbnails_by_photo(folder)
        for photo in photos:
            thumbnails.append(mmcv.imread(paths[photo]))
            captions.append(label)
    return contact_sheet(thumbnails, captions, columns=len(photos)), photos
