"""SAGAN-style ResNet encoders: ReDO's discriminator and z-encoder."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from .layers import SelfAttention, sn_conv


class DownBlock(nn.Module):
    """Residual block with spectral norm, optionally halving resolution.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        downsample (bool): Average-pool 2x2 at the end of both paths.
        preactivation (bool): Start the main path with a ReLU (every block
            but the first, which sees the image).
    """

    def __init__(self, in_channels: int, out_channels: int, downsample: bool,
                 preactivation: bool) -> None:
        super().__init__()
        self.preactivation = preactivation
        self.downsample = downsample
        self.conv_a = sn_conv(in_channels, out_channels, 3)
        self.conv_b = sn_conv(out_channels, out_channels, 3)
        # A 1x1 projection only where the shape changes, as in the reference.
        self.shortcut = (
            sn_conv(in_channels, out_channels, 1) if downsample else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block."""
        h = F.relu(x) if self.preactivation else x
        h = self.conv_b(F.relu(self.conv_a(h)))
        skip = x
        if self.downsample:
            h = F.avg_pool2d(h, 2)
            skip = self.shortcut(F.avg_pool2d(x, 2))
        return h + skip


@MODELS.register_module()
class SNResNetEncoder(BaseModule):
    """ResNet with spectral norm on every conv, summed over space.

    The layout of the ReDO reference's discriminator and z-encoder: a first
    block to ``base_channels`` at half resolution (optional self-attention
    after it), ``num_down_blocks`` pre-activation down-blocks doubling the
    width, one block at full width without downsampling, a ReLU-free spatial
    sum and a linear layer without spectral norm.

    Args:
        out_features (int): Outputs of the final linear layer: 1 for the
            discriminator, ``num_regions * z_dim`` for the z-encoder.
        in_channels (int): Image channels. Defaults to 3.
        base_channels (int): Width of the first block (nfD / nfZ).
            Defaults to 64.
        num_down_blocks (int): Down-blocks after the first. Defaults to 4.
        self_attention (bool): Self-attention after the first block.
            Defaults to False.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 out_features: int,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 num_down_blocks: int = 4,
                 self_attention: bool = False,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        widths = [base_channels * 2**i for i in range(num_down_blocks + 1)]
        blocks = [DownBlock(in_channels, widths[0], True, False)]
        if self_attention:
            blocks.append(SelfAttention(widths[0]))
        blocks += [
            DownBlock(widths[i], widths[i + 1], True, True)
            for i in range(num_down_blocks)
        ]
        blocks.append(DownBlock(widths[-1], widths[-1], False, True))
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(widths[-1], out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (B, C, H, W) to (B, out_features)."""
        return self.linear(self.blocks(x).sum(dim=(2, 3)))
