"""Mask thumbnails for review: background dimmed, object outlined.

A tinted object hides what matters when judging a mask (a tinted face or
flower is hard to read), so the object keeps its own colours: the
background is darkened instead and the mask's border is drawn as a
saturated line with a dark halo on both sides, which stands out on skin,
sky and foliage alike.
"""
import math
from typing import Sequence, Tuple

import cv2
import numpy as np

#: Brightness the background keeps (1 = unchanged).
BACKGROUND_GAIN = 0.35
#: Outline colour (BGR): magenta, a hue that skin, sky and foliage lack.
OUTLINE_BGR: Tuple[int, int, int] = (255, 0, 255)
#: Colour of the halo on either side of the outline (BGR).
HALO_BGR: Tuple[int, int, int] = (0, 0, 0)
#: Contact sheet: caption strip height, padding around each thumbnail,
#: background grey, longest caption kept whole.
CAPTION_HEIGHT = 14
CELL_PADDING = 2
SHEET_GREY = 32
MAX_CAPTION = 20

_RING = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))


def _band(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels at most ``width`` pixels (8-connected) from the mask border.

    The image's own edge is not a border: erosion replicates the edge
    pixels, so an object touching the edge is not outlined along it.

    Args:
        mask (np.ndarray): (H, W) uint8, 1 = object.
        width (int): Pixels on each side of the border.

    Returns:
        np.ndarray: (H, W) bool.
    """
    grown = cv2.dilate(
        mask, _RING, iterations=width, borderType=cv2.BORDER_REPLICATE)
    shrunk = cv2.erode(
        mask, _RING, iterations=width, borderType=cv2.BORDER_REPLICATE)
    return grown != shrunk


def overlay_thumbnail(photo: np.ndarray,
                      mask: np.ndarray,
                      size: int = 160) -> np.ndarray:
    """A thumbnail of a photo showing its mask without tinting the object.

    The background is dimmed to :data:`BACKGROUND_GAIN` of its brightness;
    the border between object and background gets a 2-pixel
    :data:`OUTLINE_BGR` line (one pixel on each side) inside a 1-pixel
    :data:`HALO_BGR` halo. Object pixels further than 2 pixels from the
    border keep their colour. An empty mask dims everything and a
    whole-image mask nothing; neither has an outline.

    Args:
        photo (np.ndarray): BGR uint8 photo (H, W, 3), any size.
        mask (np.ndarray): Its mask (H, W), nonzero = object.
        size (int): Longer side of the thumbnail. Defaults to 160.

    Returns:
        np.ndarray: BGR uint8 thumbnail, longer side ``size``.
    """
    if photo.shape[:2] != mask.shape[:2]:
        raise ValueError(f'photo of size {photo.shape[:2]} with a mask of '
                         f'size {mask.shape[:2]}; give the photo\'s own mask')
    height, width = photo.shape[:2]
    scale = size / max(height, width)
    thumb_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    thumb = cv2.resize(photo, thumb_size, interpolation=cv2.INTER_AREA)
    # Resizing the mask as a fraction and thresholding at one half keeps
    # its border where the photo's averaging puts the object's edge.
    coverage = cv2.resize(
        (mask != 0).astype(np.float32),
        thumb_size,
        interpolation=cv2.INTER_AREA)
    small_mask = (coverage > 0.5).astype(np.uint8)

    background = small_mask == 0
    thumb[background] = (thumb[background] * BACKGROUND_GAIN + 0.5).astype(
        np.uint8)
    outline = _band(small_mask, 1)
    thumb[_band(small_mask, 2) & ~outline] = HALO_BGR
    thumb[outline] = OUTLINE_BGR
    return thumb


def _caption_text(caption: str) -> str:
    """The caption cut to its end, which tells photos in a folder apart."""
    if len(caption) <= MAX_CAPTION:
        return caption
    return '...' + caption[-(MAX_CAPTION - 3):]


def contact_sheet(thumbnails: Sequence[np.ndarray],
                  captions: Sequence[str],
                  columns: int = 8) -> np.ndarray:
    """A grid of captioned thumbnails.

    Every cell has the size of the largest thumbnail plus a caption strip;
    smaller thumbnails sit at the top centre of their cell. A caption longer
    than :data:`MAX_CAPTION` characters keeps its end (``'...'`` and the
    last 17), and is clipped at its cell's edge. OpenCV's font draws ASCII
    only: other characters show as ``?``.

    Args:
        thumbnails (Sequence[np.ndarray]): BGR uint8 images (H, W, 3).
        captions (Sequence[str]): Text under each thumbnail.
        columns (int): Thumbnails per row at most. Defaults to 8.

    Returns:
        np.ndarray: The sheet, BGR uint8,
        ``ceil(n / columns)`` cells high and ``min(n, columns)`` wide.
    """
    if not thumbnails:
        raise ValueError('no thumbnail to put on a contact sheet')
    if len(thumbnails) != len(captions):
        raise ValueError(f'{len(thumbnails)} thumbnails and {len(captions)} '
                         'captions; give one caption per thumbnail')
    thumb_h = max(t.shape[0] for t in thumbnails)
    thumb_w = max(t.shape[1] for t in thumbnails)
    cell_h = thumb_h + CAPTION_HEIGHT + 2 * CELL_PADDING
    cell_w = thumb_w + 2 * CELL_PADDING
    rows = math.ceil(len(thumbnails) / columns)
    sheet = np.full((rows * cell_h, min(len(thumbnails), columns) * cell_w, 3),
                    SHEET_GREY, np.uint8)
    for i, (thumb, caption) in enumerate(zip(thumbnails, captions)):
        y, x = (i // columns) * cell_h, (i % columns) * cell_w
        # Each cell is drawn on its own view, so a caption wider than the
        # cell is clipped instead of running into its neighbour.
        cell = sheet[y:y + cell_h, x:x + cell_w]
        left = CELL_PADDING + (thumb_w - thumb.shape[1]) // 2
        cell[CELL_PADDING:CELL_PADDING + thumb.shape[0],
             left:left + thumb.shape[1]] = thumb
        cv2.putText(cell, _caption_text(caption),
                    (CELL_PADDING, cell_h - CELL_PADDING - 3),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.35, (230, 230, 230), 1,
                    cv2.LINE_AA)
    return sheet
