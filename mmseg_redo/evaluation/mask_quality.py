"""Label-free measures of one predicted object mask.

The per-image statistics behind :class:`LabelFreeMaskScore` (which averages
them over a validation split to pick checkpoints) and behind the per-photo
quality score that ``segment_folder`` writes to ``scores.csv`` (which ranks
photos so that a person reviews the likely failures first). None of them
reads a true mask.
"""
from typing import Dict, List, Sequence, Tuple

import torch

from ..utils.mask_geometry import border_band, largest_piece_share

#: The flags a photo's mask can raise, in the order they are listed.
FLAGS = ('empty', 'whole_image', 'touches_border', 'low_confidence',
         'fragmented', 'unusual_size')
#: Object area (fraction of the photo) below / above which a mask is
#: flagged empty / whole-image: LabelFreeMaskScore's sane area range.
AREA_RANGE = (0.05, 0.95)
#: Share of the border band inside the object above which the mask
#: "touches most of the border" (a background taken for the object).
BORDER_SHARE_LIMIT = 0.5
#: Mean decisiveness |2p - 1| below which a mask is flagged unsure: half
#: of the way from a coin flip (0) to a fully decided mask (1).
CONFIDENCE_LIMIT = 0.5
#: Share of the object in its largest piece below which the mask is
#: flagged fragmented: under half of it in one piece.
LARGEST_SHARE_LIMIT = 0.5
#: Size ratio to the folder's median object (smaller over larger) below
#: which a mask is flagged of unusual size: four times off the median.
SIZE_RATIO_LIMIT = 0.25


def mask_measures(prob: torch.Tensor, hard: torch.Tensor) -> Dict[str, float]:
    """What :class:`LabelFreeMaskScore` reads of one object mask.

    Args:
        prob (Tensor): Object probability, (H, W) in [0, 1].
        hard (Tensor): The predicted mask, (H, W) bool.

    Returns:
        dict[str, float]: ``confidence`` (mean ``|2p - 1|``) and ``area``
        (share of the image in the object).
    """
    return dict(
        confidence=float((2 * prob - 1).abs().mean()),
        area=float(hard.float().mean()))


def photo_measures(prob: torch.Tensor,
                   hard: torch.Tensor,
                   border_fraction: float = 1 / 16) -> Dict[str, float]:
    """What the per-photo quality score reads of one object mask.

    The border and the pieces are measured here only, not in
    :func:`mask_measures`, which every validation of a training run
    computes without using them.

    Args:
        prob (Tensor): Object probability, (H, W) in [0, 1].
        hard (Tensor): The predicted mask, (H, W) bool.
        border_fraction (float): Width of the border band, a fraction of
            the shorter side. Defaults to 1/16.

    Returns:
        dict[str, float]: :func:`mask_measures`, ``border_mass`` (mean
        object probability on the border band), ``border_share`` (share of
        the band's pixels in the object) and ``largest_share`` (share of
        the object in its largest 8-connected piece; 1 for an empty mask).
    """
    band = border_band(*prob.shape, border_fraction, prob.device)
    return dict(
        mask_measures(prob, hard),
        border_mass=float(prob[band].mean()),
        border_share=float(hard[band].float().mean()),
        largest_share=largest_piece_share(hard.cpu().numpy()))


def size_ratio(area: float, median_area: float) -> float:
    """A mask's size against the folder's median object, in [0, 1].

    ``min(area / median, median / area)``: 1 for a typical size, 0.25 for
    an object four times smaller or larger than the median.
    """
    if max(area, median_area) == 0:
        return 1.0
    return min(area, median_area) / max(area, median_area)


def quality_flags(measures: Dict[str, float], median_area: float,
                  area_range: Tuple[float, float] = AREA_RANGE
                  ) -> List[str]:
    """The :data:`FLAGS` one mask's :func:`photo_measures` raise.

    Args:
        measures (dict[str, float]): The mask's measures.
        median_area (float): The folder's median object area.
        area_range (tuple[float, float]): Sane object areas. Defaults to
            :data:`AREA_RANGE`.
    """
    raised = dict(
        empty=measures['area'] < area_range[0],
        whole_image=measures['area'] > area_range[1],
        touches_border=measures['border_share'] > BORDER_SHARE_LIMIT,
        low_confidence=measures['confidence'] < CONFIDENCE_LIMIT,
        fragmented=measures['largest_share'] < LARGEST_SHARE_LIMIT,
        unusual_size=size_ratio(measures['area'], median_area) <
        SIZE_RATIO_LIMIT)
    return [flag for flag in FLAGS if raised[flag]]


def quality_score(measures: Dict[str, float], median_area: float) -> float:
    """One photo's mask quality in [0, 1], higher is better.

    ``confidence x largest_share x size_ratio x (1 - border_share)``: each
    factor is one way a mask fails without labels, for photos of one kind
    of object photographed alike (a folder): an unsure mask, an object in
    pieces, an object far from the folder's typical size (nothing or
    everything found included), a background taken for the object.
    Measured against true masks on Flowers-17 and LFW val:
    docs/benchmarks.md#quality-scores-of-photos.

    Args:
        measures (dict[str, float]): The mask's measures.
        median_area (float): The folder's median object area.
    """
    return (measures['confidence'] * measures['largest_share'] *
            size_ratio(measures['area'], median_area) *
            (1.0 - measures['border_share']))


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
