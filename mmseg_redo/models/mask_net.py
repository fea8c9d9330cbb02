"""ReDO's mask network F: a from-scratch encoder and mmseg's PSPHead."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.decode_heads import PSPHead
from mmseg.registry import MODELS
from mmseg.utils import ConfigType


def _conv_in_relu(in_channels: int, out_channels: int, kernel_size: int,
                  stride: int = 1) -> ConvModule:
    """Conv (no bias) -> affine InstanceNorm -> ReLU, as the reference's F.

    Kernels of 7 use reflection padding, as the reference does at the image
    border; smaller kernels pad with zeros.
    """
    return ConvModule(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=kernel_size // 2,
        padding_mode='reflect' if kernel_size == 7 else 'zeros',
        norm_cfg=dict(type='IN', affine=True))


class ResidualBlock(nn.Module):
    """conv3x3 -> IN -> ReLU -> conv3x3, add the input, then IN -> ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv_a = _conv_in_relu(channels, channels, 3)
        self.conv_b = nn.Conv2d(channels, channels, 3, padding=1)
        self.post = nn.Sequential(
            nn.InstanceNorm2d(channels, affine=True), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block."""
        return self.post(self.conv_b(self.conv_a(x)) + x)


@MODELS.register_module()
class ReDOMaskEncoder(BaseModule):
    """The mask network's encoder, trained from scratch (an mmseg backbone).

    Down path: 7x7 conv to ``channels // 4``, two stride-2 3x3 convs to
    ``channels`` (1/4 resolution), then ``num_res_blocks`` residual blocks.
    Every conv is followed by affine instance norm and ReLU.

    Args:
        in_channels (int): Image channels. Defaults to 3.
        channels (int): Output width (the reference's nfM). Defaults to 64.
        num_res_blocks (int): Residual blocks (nResM). Defaults to 3.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 3,
                 channels: int = 64,
                 num_res_blocks: int = 3,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.layers = nn.Sequential(
            _conv_in_relu(in_channels, channels // 4, 7),
            _conv_in_relu(channels // 4, channels // 2, 3, stride=2),
            _conv_in_relu(channels // 2, channels, 3, stride=2),
            *[ResidualBlock(channels) for _ in range(num_res_blocks)])

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """Return a one-level feature tuple, as mmseg decode heads expect."""
        return (self.layers(x), )


@MODELS.register_module()
class ReDOPSPHead(PSPHead):
    """mmseg's PSPHead, followed by the reference's way back to full size.

    PSPHead pools the 1/4-resolution features at several scales and fuses
    them; two nearest x2 upsamplings with conv3x3 -> IN -> ReLU (halving the
    width each time) bring them to the input's resolution, where a 7x7
    conv (reflection padding) gives one logit per region.

    Args:
        **kwargs: PSPHead's arguments (``in_channels``, ``channels``,
            ``num_classes`` = number of regions, ``pool_scales``,
            ``norm_cfg``...). ``norm_cfg`` must work on the 1x1 pooled maps
            and at batch 1 (GN does; IN and BN do not).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        width = self.channels
        self.upsample = nn.Sequential(
            nn.Upsample(scale_factor=2, mode='nearest'),
            _conv_in_relu(width, width // 2, 3),
            nn.Upsample(scale_factor=2, mode='nearest'),
            _conv_in_relu(width // 2, width // 4, 3))
        self.conv_seg = nn.Conv2d(
            width // 4,
            self.out_channels,
            7,
            padding=3,
            padding_mode='reflect')

    def forward(self, inputs: Tuple[torch.Tensor]) -> torch.Tensor:
        """Region logits at 4x the feature resolution."""
        return self.cls_seg(self.upsample(self._forward_feature(inputs)))


@MODELS.register_module()
class ReDOMaskNet(BaseModule):
    """ReDO's mask network F: n soft masks that sum to 1 at every pixel.

    Args:
        encoder (dict): Backbone config (e.g. :class:`ReDOMaskEncoder`).
        head (dict): Decode head config with ``num_classes`` = number of
            regions (e.g. :class:`ReDOPSPHead`).
        temperature (float): Softmax temperature. Defaults to 1.
        init_cfg (dict, optional): mmengine init config. Defaults to None.
    """

    def __init__(self,
                 encoder: ConfigType,
                 head: ConfigType,
                 temperature: float = 1.0,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.encoder = MODELS.build(encoder)
        self.head = MODELS.build(head)
        self.num_regions = self.head.out_channels
        self.temperature = temperature

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Soft masks (B, n, H, W) of images (B, C, H, W) in [-1, 1]."""
        logits = self.head(self.encoder(images))
        if logits.shape[-2:] != images.shape[-2:]:
            logits = F.interpolate(
                logits, images.shape[-2:], mode='bilinear',
                align_corners=False)
        return torch.softmax(logits / self.temperature, dim=1)
