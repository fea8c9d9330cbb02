"""Equivariance of the mask net under crops, flips and colour changes.

A mask that follows the object moves with it when the photo is cropped,
rescaled or mirrored, and stays put when its colours change; a colour
cluster does not survive a colour change. The term below asks the mask net
for both (issue 26, probe (b)): ``F(T(x)) = T(F(x))`` for a random
crop-rescale and flip T, with a random colour jitter of T(x) on top.
"""
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from .diff_augment import color_jitter


def random_crop_flip(batch_size: int, min_scale: float,
                     device: torch.device) -> torch.Tensor:
    """Affine maps (B, 2, 3) of random crops, rescaled to full size.

    Each crop keeps a square of side ``s`` in [``min_scale``, 1] of the
    image (a zoom by 1/s), placed anywhere inside it, and is mirrored left
    to right with probability 1/2; no pixel comes from outside the image.
    """
    scale = torch.empty(batch_size, device=device).uniform_(min_scale, 1.0)
    shift = (torch.rand(batch_size, 2, device=device) * 2 - 1) * (
        1 - scale).unsqueeze(1)
    flip = torch.where(
        torch.rand(batch_size, device=device) < 0.5, -1.0, 1.0)
    theta = torch.zeros(batch_size, 2, 3, device=device)
    theta[:, 0, 0] = scale * flip
    theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    return theta


def warp(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample (B, C, H, W) ``images`` with the maps ``theta``."""
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(
        images, grid, mode='bilinear', padding_mode='border',
        align_corners=False)


def mask_equivariance_loss(mask_net: nn.Module,
                           images: torch.Tensor,
                           masks: torch.Tensor,
                           weight: float,
                           min_scale: float = 0.75,
                           color: bool = True) -> Dict[str, torch.Tensor]:
    """``weight * mean|F(jitter(T(x))) - T(F(x))|`` for random crops T.

    Both sides are pulled towards each other (neither is detached): the
    masks of the photo are as much in question as those of its crop.

    Args:
        mask_net (nn.Module): The mask net F, (B, C, H, W) -> (B, n, H, W).
        images (Tensor): The photos x, in [-1, 1].
        masks (Tensor): F(x), already computed for the redraws.
        weight (float): The loss weight.
        min_scale (float): Smallest crop side, a fraction of the image's.
            Defaults to 0.75.
        color (bool): Jitter the crop's brightness, saturation and
            contrast (:func:`color_jitter`). Defaults to True.
    """
    theta = random_crop_flip(images.size(0), min_scale, images.device)
    transformed = warp(images, theta)
    if color:
        every = torch.ones(
            images.size(0), 1, 1, 1, dtype=torch.bool, device=images.device)
        transformed = color_jitter(transformed, every)
    masks_of_transformed = mask_net(transformed).float()
    return dict(loss_equivariance=weight * (
        masks_of_transformed - warp(masks, theta)).abs().mean())
