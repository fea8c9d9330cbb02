"""Geometry of object masks, shared by the model, hooks, metrics and apis.

Plain functions of tensors and arrays with no registry or mmseg state:
the border band (ReDO's label-free object choice, the quality measures),
the object probability of a prediction, and two measures of a hard mask.
Everything above (models, engine, evaluation, apis) imports them from here.
"""
import cv2
import numpy as np
import torch


def border_band(height: int,
                width: int,
                fraction: float = 1 / 16,
                device=None) -> torch.Tensor:
    """The pixels near an image's edge.

    Args:
        height (int): Image height.
        width (int): Image width.
        fraction (float): Band width as a fraction of the shorter side, at
            least one pixel. Defaults to 1/16.
        device (torch.device, optional): Device of the result.

    Returns:
        Tensor: Boolean (height, width), True on the band.
    """
    band_px = max(1, round(min(height, width) * fraction))
    band = torch.ones(height, width, dtype=torch.bool, device=device)
    band[band_px:height - band_px, band_px:width - band_px] = False
    return band


def object_probability(seg_logits: torch.Tensor,
                       object_index: int = 1) -> torch.Tensor:
    """Per-pixel object probability from an mmseg sample's ``seg_logits``.

    A softmax over classes: it turns ReDO's log-probabilities back into
    probabilities and serves other segmentors' raw logits as well.

    Args:
        seg_logits (Tensor): (C, H, W) with C >= 2.
        object_index (int): Channel of the object class. Defaults to 1.

    Returns:
        Tensor: (H, W) in [0, 1].
    """
    return seg_logits.float().softmax(dim=0)[object_index]


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boolean masks; two empty masks agree fully (1.0)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0



def largest_piece_share(mask: np.ndarray) -> float:
    """Share of a mask's pixels in its largest 8-connected piece (1 if the
    mask is empty)."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    return float(areas.max() / areas.sum()) if count > 1 else 1.0
