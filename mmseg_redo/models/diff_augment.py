"""Differentiable augmentation of the discriminator's inputs (small data).

On a few hundred photos a GAN's discriminator memorises the real set and
stops teaching. DiffAugment (Zhao et al., NeurIPS 2020) augments *every*
image the discriminator sees, real and generated alike, with operations
that gradients pass through, so the generator side is still trained through
the augmentation; ADA (Karras et al., NeurIPS 2020) applies each operation
with a probability ``p`` steered by how sure D is on real images.
"""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_reduce
from mmseg.registry import MODELS

#: The operations, in the order they are applied.
OPERATIONS = ('color', 'translation', 'cutout')


def color_jitter(x: torch.Tensor, apply: torch.Tensor) -> torch.Tensor:
    """Random brightness, saturation and contrast (DiffAugment's).

    Args:
        x (Tensor): Images (B, C, H, W) in [-1, 1].
        apply (Tensor): (B, 1, 1, 1) bool, the images to change.
    """

    def uniform(low: float, high: float, identity: float) -> torch.Tensor:
        """Per-image factor in [low, high), ``identity`` where unapplied."""
        u = torch.rand_like(x[:, :1, :1, :1]) * (high - low) + low
        return torch.where(apply, u, torch.full_like(u, identity))

    x = x + uniform(-0.5, 0.5, 0.0)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * uniform(0.0, 2.0, 1.0) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * uniform(0.5, 1.5, 1.0) + mean


@MODELS.register_module()
class DiffAugment(nn.Module):
    """Random, differentiable colour / translation / cutout of images.

    Each operation of ``policy`` is applied to each image independently
    with probability ``p`` (1 = DiffAugment, always on). With ``adaptive``
    set, ``p`` starts at 0 and follows ADA's rule: every ``interval``
    updates, ``r = mean(sign(D(real)))`` over them is compared with
    ``target``; ``p`` moves up when D is too sure of the reals (``r >
    target``) and down otherwise, by ``images / speed_images`` per update
    (``images`` = real images seen since the last adjustment), so it can go
    from 0 to 1 within ``speed_images`` real images. ``p`` is a buffer: it
    is saved in checkpoints and resumes with them.

    Images are in [-1, 1] (ReDO's range), (B, C, H, W).

    Args:
        policy (Sequence[str]): Operations, from :data:`OPERATIONS`.
            Defaults to all three.
        p (float): Probability of each operation per image (the start value
            when adaptive). Defaults to 1.0.
        translation_ratio (float): Largest shift, a fraction of each side
            (the shifted-in border is zero, i.e. mid-grey). Defaults to
            1/8, DiffAugment's.
        cutout_ratio (float): Side of the zeroed square, a fraction of the
            image side. Defaults to 0.5, DiffAugment's.
        adaptive (dict, optional): ADA's controller: ``target`` (float,
            default 0.6), ``interval`` (int, updates between adjustments,
            default 4), ``speed_images`` (int, default 500000, ADA's; small
            runs need far fewer), ``max_p`` (float, default 1.0). None (the
            default) keeps ``p`` fixed.
    """

    def __init__(self,
                 policy: Sequence[str] = OPERATIONS,
                 p: float = 1.0,
                 translation_ratio: float = 0.125,
                 cutout_ratio: float = 0.5,
                 adaptive: Optional[dict] = None) -> None:
        super().__init__()
        unknown = set(policy) - set(OPERATIONS)
        if unknown:
            raise ValueError(f'DiffAugment: unknown operations {unknown}; '
                             f'choose from {OPERATIONS}')
        self.policy = tuple(op for op in OPERATIONS if op in policy)
        self.translation_ratio = translation_ratio
        self.cutout_ratio = cutout_ratio
        self.adaptive = None if adaptive is None else dict(
            dict(target=0.6, interval=4, speed_images=500000, max_p=1.0),
            **adaptive)
        self.register_buffer('p', torch.tensor(float(p)))
        # ADA's running sums since the last adjustment: sum of sign(D(real))
        # and number of real images.
        self.register_buffer('_sign_sum', torch.zeros(()), persistent=False)
        self.register_buffer('_count', torch.zeros(()), persistent=False)
        self._updates = 0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Augment ``images`` (identity when ``p`` is 0 or no policy)."""
        if not self.policy or float(self.p) <= 0:
            return images
        for op in self.policy:
            apply = torch.rand(
                images.size(0), 1, 1, 1, device=images.device) < self.p
            images = getattr(self, f'_{op}')(images, apply)
        return images

    @torch.no_grad()
    def update(self, d_real: torch.Tensor) -> None:
        """Steer ``p`` from D's outputs on real images (adaptive only)."""
        if self.adaptive is None:
            return
        self._sign_sum += d_real.detach().float().sign().sum()
        self._count += d_real.numel()
        self._updates += 1
        if self._updates % self.adaptive['interval']:
            return
        stats = torch.stack([self._sign_sum, self._count])
        all_reduce(stats)  # every rank adjusts p identically
        r = stats[0] / stats[1].clamp_min(1)
        step = stats[1] / self.adaptive['speed_images']
        self.p.add_(torch.sign(r - self.adaptive['target']) * step).clamp_(
            0.0, self.adaptive['max_p'])
        self._sign_sum.zero_()
        self._count.zero_()

    def stats(self) -> Dict[str, torch.Tensor]:
        """Values to log: the current probability."""
        return dict(aug_p=self.p.detach().clone())

    # -- the operations: ``apply`` (B, 1, 1, 1) selects the images --------
    _color = staticmethod(color_jitter)

    def _translation(self, x: torch.Tensor,
                     apply: torch.Tensor) -> torch.Tensor:
        """Shift by whole pixels, up to ``translation_ratio`` of each side.

        Sampling the shifted grid (nearest, zero padding) moves pixels
        exactly and passes gradients to the kept ones.
        """
        b, _, h, w = x.shape
        limit = torch.tensor([w, h], device=x.device) * self.translation_ratio
        shift = (torch.rand(b, 2, device=x.device) * 2 - 1) * limit
        shift = shift.round() * apply.view(b, 1)
        theta = torch.zeros(b, 2, 3, device=x.device, dtype=x.dtype)
        theta[:, 0, 0] = theta[:, 1, 1] = 1
        theta[:, :, 2] = 2 * shift / torch.tensor([w, h], device=x.device)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(
            x, grid, mode='nearest', padding_mode='zeros',
            align_corners=False)

    def _cutout(self, x: torch.Tensor, apply: torch.Tensor) -> torch.Tensor:
        """Zero a square of ``cutout_ratio`` of the side at a random place.

        The square's centre is anywhere in the image, so it may hang over
        the edge, as in DiffAugment.
        """
        b, _, h, w = x.shape
        size_h = max(1, round(h * self.cutout_ratio))
        size_w = max(1, round(w * self.cutout_ratio))
        top = torch.randint(0, h, (b, 1, 1), device=x.device) - size_h // 2
        left = torch.randint(0, w, (b, 1, 1), device=x.device) - size_w // 2
        rows = torch.arange(h, device=x.device).view(1, h, 1)
        cols = torch.arange(w, device=x.device).view(1, 1, w)
        inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (
            cols < left + size_w)
        keep = ~(inside.unsqueeze(1) & apply)
        return x * keep.to(x.dtype)
