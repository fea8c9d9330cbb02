"""Label-free measures of one predicted object mask.

The per-image statistics behind :class:`LabelFreeMaskScore` (which averages
them over a validation split to pick checkpoints) and behind the per-photo
quality score that ``segment_folder`` writes to ``scores.csv`` (which ranks
photos so that a person reviews the likely failures first). None of them
reads a true mask.
"""
from typing import Dict, List, Sequence, Tuple

import torch

#: The flags a photo's mask can raise, in the order they are listed.
FLAGS = ('empty', 'whole_image', 'touches_border', 'low_confidence')
#: Object area (fraction of the photo) below / above which a mask is
#: flagged empty / whole-image: LabelFreeMaskScore's sane area range.
AREA_RANGE = (0.05, 0.95)
#: Share of the border band inside the object above which the mask
#: "touches most of the border" (a background taken for the object).
BORDER_SHARE_LIMIT = 0.5
#: Mean decisiveness |2p - 1| below which a mask is flagged unsure: half
#: of the way from a coin flip (0) to a fully decided mask (1).
CONFIDENCE_LIMIT = 0.5


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


def mask_measures(prob: torch.Tensor,
                  hard: torch.Tensor,
                  border_fraction: float = 1 / 16) -> Dict[str, float]:
    """Label-free measures of one object mask.

    Args:
        prob (Tensor): Object probability, (H, W) in [0, 1].
        hard (Tensor): The predicted mask, (H, W) bool.
        border_fraction (float): Width of the border band, a fraction of
            the shorter side. Defaults to 1/16.

    Returns:
        dict[str, float]: ``confidence`` (mean ``|2p - 1|``), ``area``
        (share of the image in the object), ``border_mass`` (mean object
        probability on the border band) and ``border_share`` (share of the
        band's pixels in the object).
    """
    band = border_band(*prob.shape, border_fraction, prob.device)
    return dict(
        confidence=float((2 * prob - 1).abs().mean()),
        area=float(hard.float().mean()),
        border_mass=float(prob[band].mean()),
        border_share=float(hard[band].float().mean()))


def quality_flags(measures: Dict[str, float],
                  area_range: Tuple[float, float] = AREA_RANGE,
                  border_share_limit: float = BORDER_SHARE_LIMIT,
                  confidence_limit: float = CONFIDENCE_LIMIT) -> List[str]:
    """The :data:`FLAGS` that one mask's :func:`mask_measures` raise."""
    raised = dict(
        empty=measures['area'] < area_range[0],
        whole_image=measures['area'] > area_range[1],
        touches_border=measures['border_share'] > border_share_limit,
        low_confidence=measures['confidence'] < confidence_limit)
    return [flag for flag in FLAGS if raised[flag]]


def quality_score(measures: Dict[str, float],
                  area_range: Tuple[float, float] = AREA_RANGE) -> float:
    """One photo's mask quality in [0, 1], higher is better.

    ``confidence x (1 - border_share)``, and 0 for an object outside the
    sane area range: each factor is one way a mask fails without labels
    (an unsure mask, a background taken for the object, nothing or
    everything found).
    """
    low, high = area_range
    if not low <= measures['area'] <= high:
        return 0.0
    return measures['confidence'] * (1.0 - measures['border_share'])


def flag_counts(rows: Sequence[dict]) -> Dict[str, int]:
    """How many of ``rows`` (each with ``flags``) raise each flag."""
    return {flag: sum(flag in row['flags'] for row in rows) for flag in FLAGS}


def worst_caught(scores: Sequence[float], ious: Sequence[float],
                 fraction: float = 0.1) -> float:
    """How well a quality score finds the worst masks, without labels.

    The share of the ``fraction`` of photos with the lowest true IoU that
    are also among the ``fraction`` with the lowest score: 1 means the
    score's worst-first order puts every bad mask on the first pages, and
    ``fraction`` is what a random order gives on average.

    Args:
        scores (Sequence[float]): Each photo's quality score.
        ious (Sequence[float]): The same photos' true object IoU.
        fraction (float): The share of photos looked at. Defaults to 0.1.

    Returns:
        float: The share, in [0, 1].
    """
    if len(scores) != len(ious) or not scores:
        raise ValueError('give one score and one IoU per photo')
    count = max(1, round(fraction * len(scores)))
    lowest_score = set(sorted(range(len(scores)),
                              key=lambda i: scores[i])[:count])
    lowest_iou = sorted(range(len(ious)), key=lambda i: ious[i])[:count]
    return sum(i in lowest_score for i in lowest_iou) / count
