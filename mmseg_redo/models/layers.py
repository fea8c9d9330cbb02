"""Building blocks shared by ReDO's generators, discriminator and z-encoder."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize
# torch's own spectral-norm parametrization; subclassed (below) to keep its
# power iteration in fp32 under autocast and copy-free in channels_last.
from torch.nn.utils.parametrizations import _SpectralNorm


class FP32SpectralNorm(_SpectralNorm):
    """torch's spectral norm, computed in fp32 and without copying the weight.

    Under bf16/fp16 autocast, the power iteration's matrix-vector products
    would otherwise run in low precision and give a noisy sigma; the
    normalised weight is then cast by autocast where the conv uses it.

    For a conv weight in channels_last layout (the fast path), torch's
    ``weight.flatten(1)`` copies the whole weight at every forward and its
    gradient again in backward (a third of a second per iteration on CPU for
    the reference's 1024-channel convs). Here the matrix is read through a
    copy-free view whose columns are in (kh, kw, in) order and the small
    vector v is permuted instead: same u, v and sigma up to rounding.
    """

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        """Return ``weight / sigma(weight)``, computed in fp32."""
        with torch.autocast(weight.device.type, enabled=False):
            weight = weight.float()
            if not _is_channels_last(weight):
                return super().forward(weight)
            in_channels, kh, kw = weight.shape[1:]
            matrix = weight.permute(0, 2, 3, 1).flatten(1)  # a view

            def to_matrix_order(v: torch.Tensor) -> torch.Tensor:
                return v.view(in_channels, kh, kw).permute(1, 2, 0).flatten()

            def to_torch_order(v: torch.Tensor) -> torch.Tensor:
                return v.view(kh, kw, in_channels).permute(2, 0, 1).flatten()

            if self.training:
                with torch.no_grad():
                    for _ in range(self.n_power_iterations):
                        F.normalize(
                            torch.mv(matrix, to_matrix_order(self._v)),
                            dim=0, eps=self.eps, out=self._u)
                        F.normalize(
                            to_torch_order(torch.mv(matrix.H, self._u)),
                            dim=0, eps=self.eps, out=self._v)
            # Clones: the in-place power iteration of a later forward must
            # not change what this forward's backward uses.
            u = self._u.clone()
            v = to_matrix_order(self._v).clone()
            sigma = torch.vdot(u, torch.mv(matrix, v))
            return weight / sigma


def _is_channels_last(weight: torch.Tensor) -> bool:
    """A 4-D tensor whose ``flatten(1)`` would copy (NHWC strides)."""
    return (weight.dim() == 4 and not weight.is_contiguous()
            and weight.is_contiguous(memory_format=torch.channels_last))


def sn_conv(in_channels: int,
            out_channels: int,
            kernel_size: int,
            bias: bool = True) -> nn.Conv2d:
    """A spectrally normalised convolution with 'same' padding.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Odd kernel size.
        bias (bool): Whether the convolution has a bias. Defaults to True.

    Returns:
        nn.Conv2d: The convolution, its weight parametrised by spectral norm
        (one power iteration per training forward, as
        ``torch.nn.utils.parametrizations.spectral_norm``).
    """
    conv = nn.Conv2d(
        in_channels,
        out_channels,
        kernel_size,
        padding=kernel_size // 2,
        bias=bias)
    parametrize.register_parametrization(conv, 'weight',
                                         FP32SpectralNorm(conv.weight))
    return conv


class SelfAttention(nn.Module):
    """SAGAN self-attention with 2x2 max-pooled keys and values.

    Query and key project to ``channels // 8``, the value to
    ``channels // 2``; the output projection maps back to ``channels`` and is
    added to the input with a learnt gain that starts at 0, so the block is
    the identity at initialisation (as in SAGAN and the ReDO code).

    Args:
        channels (int): Channels of the feature map.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        key_channels = max(channels // 8, 1)
        self.query = sn_conv(channels, key_channels, 1, bias=False)
        self.key = sn_conv(channels, key_channels, 1, bias=False)
        self.value = sn_conv(channels, channels // 2, 1, bias=False)
        self.out = sn_conv(channels // 2, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend over all positions; keys and values at half resolution."""
        b, c, h, w = x.shape
        query = self.query(x).flatten(2)  # B, K, HW
        key = F.max_pool2d(self.key(x), 2).flatten(2)  # B, K, HW/4
        value = F.max_pool2d(self.value(x), 2).flatten(2)  # B, C/2, HW/4
        # Every position attends over the pooled ones with unscaled dot
        # products (the reference's softmax over its key axis). PyTorch's
        # fused attention never writes the HW x HW/4 map to memory: at 64x64
        # the explicit softmax over a non-last axis was the costliest GPU
        # kernel of the step in eager mode (H200 profile).
        attended = F.scaled_dot_product_attention(
            query.transpose(1, 2).unsqueeze(1),
            key.transpose(1, 2).unsqueeze(1),
            value.transpose(1, 2).unsqueeze(1),
            scale=1.0)  # B, 1, HW, C/2
        attended = attended.squeeze(1).transpose(1, 2).reshape(b, c // 2, h, w)
        return x + self.gamma * self.out(attended)


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose scale and shift are predicted from a code z.

    ``gamma(z) * IN(x) + beta(z)``, with gamma and beta linear in z (the
    reference's 1x1 convolutions of z), so they are per channel and the same
    at every pixel. Gamma multiplies directly (not ``1 + gamma``), as in the
    reference.

    Args:
        channels (int): Channels of the normalised feature map.
        z_dim (int): Dimension of the code.
    """

    def __init__(self, channels: int, z_dim: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.gamma = nn.Linear(z_dim, channels)
        self.beta = nn.Linear(z_dim, channels)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` (B, C, H, W) and modulate it with ``z`` (B, Z)."""
        gamma = self.gamma(z)[:, :, None, None]
        beta = self.beta(z)[:, :, None, None]
        return gamma * self.norm(x) + beta
