"""Turn each dataset's ground-truth file into a 0/1/255 object mask.

Every rule is the one the ReDO reference code applies (see
``docs/datasets.md``). Rules are pure functions of the decoded file so they
can be tested on small arrays. The reference resizes masks with
nearest-neighbour interpolation, so binarising before or after resizing
gives the same pixels; we binarise at load time.
"""
from typing import Callable, Dict

import mmcv
import numpy as np

IGNORE_INDEX = 255


def flowers102_segmim(rgb: np.ndarray) -> np.ndarray:
    """Oxford Flowers-102 ``segmim`` JPEG: background is painted blue.

    A pixel is background iff R == 0 or G == 0 or B == 254 on the decoded
    JPEG, exactly as the reference's ``FlowersDataset``.

    Args:
        rgb (np.ndarray): Decoded segmim image, RGB uint8, (H, W, 3).

    Returns:
        np.ndarray: uint8 mask, 1 = object, (H, W).
    """
    background = (rgb[..., 0] == 0) | (rgb[..., 1] == 0) | (rgb[..., 2] == 254)
    return (~background).astype(np.uint8)


def cub_soft(rgb: np.ndarray) -> np.ndarray:
    """CUB-200-2011 soft masks: object where the first channel > 0.5.

    The reference takes the first channel of the PNG (after conversion to a
    float in [0, 1]) and keeps ``> .5``; for uint8 that is ``> 127``.

    Args:
        rgb (np.ndarray): Decoded mask, RGB uint8, (H, W, 3). A grayscale PNG
            decoded as RGB has three equal channels.

    Returns:
        np.ndarray: uint8 mask, 1 = object, (H, W).
    """
    return (rgb[..., 0] > 127).astype(np.uint8)


def lfw_parts(rgb: np.ndarray) -> np.ndarray:
    """LFW part labels (R = hair, G = skin, B = background): object = 1 - B.

    Args:
        rgb (np.ndarray): Decoded ``.ppm`` label image, RGB uint8, (H, W, 3).

    Returns:
        np.ndarray: uint8 mask, 1 = hair or face, (H, W).
    """
    return (rgb[..., 2] < 128).astype(np.uint8)


RGB_RULES: Dict[str, Callable[[np.ndarray], np.ndarray]] = dict(
    flowers102_segmim=flowers102_segmim,
    cub_soft=cub_soft,
    lfw_parts=lfw_parts)
#: ``label``: the file already holds 0 = background, 1 = object, 255 =
#: ignore (mmseg's convention, e.g. the Flowers-17 masks).
MASK_RULES = ('label', ) + tuple(RGB_RULES)


def decode_mask(content: bytes, rule: str, path: str) -> np.ndarray:
    """Decode a ground-truth file and apply ``rule``.

    Args:
        content (bytes): The file's bytes.
        rule (str): One of :data:`MASK_RULES`.
        path (str): The file's path, used in error messages only.

    Returns:
        np.ndarray: uint8 mask of 0, 1 and (``label`` rule only) 255.

    Raises:
        ValueError: Unknown rule, undecodable file, or a ``label`` file that
            is not single-channel or holds values other than 0, 1, 255.
    """
    if rule not in MASK_RULES:
        raise ValueError(f'unknown mask rule {rule!r} for {path}; '
                         f'expected one of {MASK_RULES}')
    try:
        if rule == 'label':
            mask = mmcv.imfrombytes(
                content, flag='unchanged', backend='pillow')
        else:
            # Decode like the reference (PIL, no EXIF rotation) into RGB.
            mask = mmcv.imfrombytes(
                content,
                flag='color_ignore_orientation',
                channel_order='rgb',
                backend='pillow')
    except Exception as err:
        raise ValueError(f'cannot decode mask file {path} ({err}); '
                         're-download or re-extract it') from err
    if rule != 'label':
        return RGB_RULES[rule](mask)
    mask = np.asarray(mask).squeeze()
    if mask.ndim != 2:
        raise ValueError(f'mask file {path} has shape {mask.shape}; a '
                         "'label' mask must be a single-channel PNG")
    values = np.unique(mask)
    bad = np.setdiff1d(values, [0, 1, IGNORE_INDEX])
    if bad.size:
        raise ValueError(
            f'mask file {path} holds values {values.tolist()[:10]}; '
            'expected 0 (background), 1 (object) and 255 (ignore). '
            'Convert 0/255 masks to 0/1 first.')
    return mask.astype(np.uint8)
