"""ReDO's region generators G_k: one per region, no shared weights."""
import math
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from .layers import ConditionalInstanceNorm, SelfAttention, sn_conv


class MaskedUpBlock(nn.Module):
    """Residual up-block conditioned on z (CIN) and on the region's mask.

    Main path: CIN -> ReLU -> concat(mask) -> nearest x2 -> SN conv3x3 ->
    CIN -> ReLU -> SN conv3x3. Skip path: nearest x2 -> SN conv1x1.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        z_dim (int): Dimension of the region's code.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 z_dim: int) -> None:
        super().__init__()
        self.norm_a = ConditionalInstanceNorm(in_channels, z_dim)
        self.conv_a = sn_conv(in_channels + 1, out_channels, 3, bias=False)
        self.norm_b = ConditionalInstanceNorm(out_channels, z_dim)
        self.conv_b = sn_conv(out_channels, out_channels, 3)
        self.shortcut = sn_conv(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                z: torch.Tensor) -> torch.Tensor:
        """Upsample ``x`` x2; ``mask`` is at ``x``'s resolution."""
        h = torch.cat([F.relu(self.norm_a(x, z)), mask], dim=1)
        h = self.conv_a(F.interpolate(h, scale_factor=2, mode='nearest'))
        h = self.conv_b(F.relu(self.norm_b(h, z)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2))


@MODELS.register_module()
class MaskedRegionGenerator(BaseModule):
    """One region generator G_k of ReDO (SAGAN/BigGAN style).

    z goes through a linear layer to a 4x4 map, then through
    ``log2(img_size / 4)`` residual up-blocks whose channels halve from
    ``base_channels * 2**(n_blocks - 1)`` to ``base_channels``. z also
    conditions every block through conditional instance norm, and the mask,
    average-pooled to each block's resolution, is concatenated at every
    scale. The output is ``tanh(conv(...)) * mask``: the generator only
    paints inside its region.

    Args:
        img_size (int): Output size (a power of two, at least 8).
        z_dim (int): Dimension of the code. Defaults to 32.
        base_channels (int): Width of the last block (the reference's nfX).
            Defaults to 32.
        out_channels (int): Image channels. Defaults to 3.
        self_attention (bool): Self-attention before the last block (at
            64x64 for 128x128 images). Defaults to False.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 img_size: int,
                 z_dim: int = 32,
                 base_channels: int = 32,
                 out_channels: int = 3,
                 self_attention: bool = False,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        num_blocks = int(math.log2(img_size)) - 2
        if 2**(num_blocks + 2) != img_size or num_blocks < 1:
            raise ValueError(f'img_size must be a power of two >= 8, '
                             f'got {img_size}')
        # The reference keeps 16*nf through its first block at 128x128.
        widths = [base_channels * 2**max(num_blocks - 1 - i, 0)
                  for i in range(num_blocks)]
        widths = [widths[0]] + widths
        self.stem_channels = widths[0]
        self.stem = nn.Linear(z_dim, widths[0] * 4 * 4)
        self.blocks = nn.ModuleList(
            MaskedUpBlock(widths[i], widths[i + 1], z_dim)
            for i in range(num_blocks))
        self.attention = (
            SelfAttention(widths[-2]) if self_attention else nn.Identity())
        self.norm_out = ConditionalInstanceNorm(base_channels, z_dim)
        self.conv_out = sn_conv(base_channels + 1, out_channels, 3)

    def forward(self, mask: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Paint the region.

        Args:
            mask (Tensor): Soft mask of the region, (B, 1, H, W).
            z (Tensor): The region's code, (B, z_dim).

        Returns:
            Tensor: The painted region in [-1, 1] times the mask,
            (B, out_channels, H, W).
        """
        x = self.stem(z).view(z.size(0), self.stem_channels, 4, 4)
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            if i == last:
                x = self.attention(x)
            x = block(x, F.adaptive_avg_pool2d(mask, x.shape[-2:]), z)
        x = torch.cat([F.relu(self.norm_out(x, z)), mask], dim=1)
        return torch.tanh(self.conv_out(x)) * mask


@MODELS.register_module()
class RegionGenerators(BaseModule):
    """The n region generators of ReDO, one per mask, no shared weights.

    Args:
        num_regions (int): Number of regions n (background included).
        generator (dict): Config of one :class:`MaskedRegionGenerator`;
            each region gets its own instance.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self, num_regions: int, generator: dict,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.generators = nn.ModuleList(
            MODELS.build(generator) for _ in range(num_regions))

    def forward(self, masks: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Paint every region with its own generator and code.

        Args:
            masks (Tensor): Soft masks (B, n, H, W).
            z (Tensor): Codes (B, n, z_dim).

        Returns:
            Tensor: Painted regions, each already times its mask,
            (B, n, C, H, W).
        """
        painted: List[torch.Tensor] = [
            generator(masks[:, k:k + 1], z[:, k])
            for k, generator in enumerate(self.generators)
        ]
        return torch.stack(painted, dim=1)
