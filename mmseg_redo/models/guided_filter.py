"""Edge-aware refinement of soft masks with the guided filter.

The guided filter (He, Sun and Tang, ECCV 2010 / TPAMI 2013) fits, in every
(2r+1)x(2r+1) window, a linear model ``q = a . I + b`` from a guide image
``I`` to the filtered signal, so the output follows the guide's edges where
the input is uncertain. Its fast variant (He and Sun, arXiv 1505.00996)
fits ``a`` and ``b`` at a low resolution and applies them to a
high-resolution guide: a mask predicted at the network's input size comes
back with the edges of the photo. Sari, Locatello and Favaro (2024) found
a guided filter with a luminance guide the main source of their gains in
unsupervised object segmentation.
"""
import warnings
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

#: ITU-R BT.601 luma weights of R, G and B, as OpenCV's and mmcv's
#: rgb2gray use.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
#: What the filter takes of the guide image: its luminance or its three
#: colour channels.
GUIDE_CHANNELS = ('luminance', 'rgb')


def box_filter(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over the (2r+1)x(2r+1) window around every pixel.

    Windows are clipped at the border and averaged over the pixels they
    keep. A box is separable, and each 1-D mean is a difference of two
    cumulative sums, so the cost per pixel does not grow with the radius
    (with average pooling it does; timings: docs/benchmarks.md, "Speed on 2
    CPU cores").

    Args:
        x (Tensor): Maps, (B, C, H, W).
        radius (int): Window radius r; 0 returns ``x``.

    Returns:
        Tensor: The local means, same shape as ``x``.
    """
    if radius == 0:
        return x
    return _box_mean_1d(_box_mean_1d(x, radius, 2), radius, 3)


def _box_mean_1d(x: torch.Tensor, radius: int, dim: int) -> torch.Tensor:
    """Mean over ``[i - r, i + r]`` (clipped) along ``dim``, for every i."""
    length = x.size(dim)
    # Sums in float64: differences of long running sums lose float32 bits.
    sums = F.pad(
        torch.cumsum(x.double(), dim=dim), (0, 0, 1, 0) if dim == 2 else
        (1, 0))
    index = torch.arange(length, device=x.device)
    high = (index + radius + 1).clamp(max=length)
    low = (index - radius).clamp(min=0)
    window = sums.index_select(dim, high) - sums.index_select(dim, low)
    count = (high - low).to(torch.float64)
    count = count.view(-1, 1) if dim == 2 else count
    return (window / count).to(x.dtype)


def solve_symmetric(matrices: torch.Tensor, rhs: torch.Tensor,
                    eps: float) -> torch.Tensor:
    """Solve ``(M + eps Id) x = y`` at every pixel, for 1x1 and 3x3 ``M``.

    Closed form (the adjugate over the determinant, in float64 as colour
    covariances are often nearly singular): elementwise maps instead of one
    tiny LAPACK call per pixel.

    Args:
        matrices (Tensor): Symmetric ``M``, (B, C, C, H, W), C = 1 or 3.
        rhs (Tensor): ``y``, (B, C, K, H, W).
        eps (float): Added to the diagonal.

    Returns:
        Tensor: ``x``, (B, C, K, H, W), in ``rhs``'s dtype.
    """
    channels = matrices.size(1)
    m = matrices.double()
    if channels == 1:
        return (rhs.double() / (m + eps)).to(rhs.dtype)
    if channels != 3:
        raise ValueError(f'guides have 1 or 3 channels, got {channels}')
    m00, m11, m22 = m[:, 0, 0] + eps, m[:, 1, 1] + eps, m[:, 2, 2] + eps
    m01, m02, m12 = m[:, 0, 1], m[:, 0, 2], m[:, 1, 2]
    c00 = m11 * m22 - m12 * m12
    c01 = m02 * m12 - m01 * m22
    c02 = m01 * m12 - m02 * m11
    c11 = m00 * m22 - m02 * m02
    c12 = m01 * m02 - m00 * m12
    c22 = m00 * m11 - m01 * m01
    det = m00 * c00 + m01 * c01 + m02 * c02
    inverse = torch.stack([
        torch.stack([c00, c01, c02], 1),
        torch.stack([c01, c11, c12], 1),
        torch.stack([c02, c12, c22], 1)
    ], 1) / det[:, None, None]
    return torch.einsum('bijhw,bjkhw->bikhw', inverse,
                        rhs.double()).to(rhs.dtype)


def guided_filter_coefficients(
        guide: torch.Tensor, src: torch.Tensor, radius: int,
        eps: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Window-averaged coefficients of the guided filter's local models.

    In each window, ``a`` and ``b`` minimise ``sum (a . I + b - p)^2 +
    eps |a|^2``: ``a = (Sigma_I + eps Id)^-1 cov(I, p)``,
    ``b = mean(p) - a . mean(I)``; both are then averaged over the windows
    that cover each pixel.

    Args:
        guide (Tensor): Guide I, (B, C, H, W); C = 1 (grey) or 3 (colour).
        src (Tensor): Signals p to filter, (B, K, H, W).
        radius (int): Window radius r, in pixels of these maps.
        eps (float): Regularisation: edges whose variance in the window is
            well below ``eps`` are smoothed away.

    Returns:
        tuple[Tensor, Tensor]: ``a`` (B, C, K, H, W) and ``b`` (B, K, H, W).
    """
    batch, channels, height, width = guide.shape
    num_src = src.size(1)
    mean_i = box_filter(guide, radius)
    mean_p = box_filter(src, radius)
    # Second moments of every (guide, src) and (guide, guide) channel pair.
    corr_ip = box_filter((guide.unsqueeze(2) * src.unsqueeze(1)).flatten(
        1, 2), radius).view(batch, channels, num_src, height, width)
    corr_ii = box_filter((guide.unsqueeze(2) * guide.unsqueeze(1)).flatten(
        1, 2), radius).view(batch, channels, channels, height, width)
    cov_ip = corr_ip - mean_i.unsqueeze(2) * mean_p.unsqueeze(1)
    var_i = corr_ii - mean_i.unsqueeze(2) * mean_i.unsqueeze(1)
    a = solve_symmetric(var_i, cov_ip, eps)
    b = mean_p - (a * mean_i.unsqueeze(2)).sum(dim=1)
    mean_a = box_filter(a.flatten(1, 2), radius).view_as(a)
    return mean_a, box_filter(b, radius)


def guided_filter(guide: torch.Tensor,
                  src: torch.Tensor,
                  radius: int,
                  eps: float,
                  lowres_size: Optional[Sequence[int]] = None) -> torch.Tensor:
    """Filter ``src`` guided by ``guide`` (He et al.), batched.

    Args:
        guide (Tensor): Guide I, (B, C, H, W), C = 1 or 3, values in [0, 1]
            for ``eps`` to mean the same at every scale.
        src (Tensor): Signals p, (B, K, H, W), at the guide's size.
        radius (int): Window radius, in pixels at ``lowres_size``.
        eps (float): Regularisation, in squared guide units.
        lowres_size (Sequence[int], optional): (h, w) at which to fit the
            local models, He and Sun's fast guided filter: guide and
            signal are averaged down to it and the coefficients brought
            back bilinearly, so the output keeps the full-size guide's
            edges. None (the default) fits them at (H, W).

    Returns:
        Tensor: The filtered signals, (B, K, H, W).
    """
    full_size = guide.shape[-2:]
    if lowres_size is None or tuple(lowres_size) == tuple(full_size):
        a, b = guided_filter_coefficients(guide, src, radius, eps)
    else:
        a, b = guided_filter_coefficients(
            F.interpolate(guide, size=tuple(lowres_size), mode='area'),
            F.interpolate(src, size=tuple(lowres_size), mode='area'), radius,
            eps)
        a = F.interpolate(
            a.flatten(1, 2), size=full_size, mode='bilinear',
            align_corners=False).view(*a.shape[:3], *full_size)
        b = F.interpolate(
            b, size=full_size, mode='bilinear', align_corners=False)
    return (a * guide.unsqueeze(2)).sum(dim=1) + b


def rgb_to_guide(rgb: torch.Tensor, channels: str) -> torch.Tensor:
    """The guide channels of RGB images in [0, 1], (B, 3, H, W).

    Args:
        rgb (Tensor): Images, RGB order.
        channels (str): 'luminance' (B, 1, H, W) or 'rgb' (the images).

    Returns:
        Tensor: The guide.
    """
    if channels not in GUIDE_CHANNELS:
        raise ValueError(f'guide_channels must be one of {GUIDE_CHANNELS}, '
                         f'got {channels!r}')
    if channels == 'rgb':
        return rgb
    weights = rgb.new_tensor(LUMA_WEIGHTS).view(1, 3, 1, 1)
    return (rgb * weights).sum(dim=1, keepdim=True)


def stored_guide_rgb(guide_img: np.ndarray,
                     device: torch.device) -> torch.Tensor:
    """A pipeline's guide image (BGR uint8, H x W x 3) as RGB in [0, 1].

    Args:
        guide_img (np.ndarray): As :class:`KeepGuideImage` stores it.
        device (torch.device): Where to put it.

    Returns:
        Tensor: (1, 3, H, W), float32.
    """
    bgr = torch.from_numpy(np.ascontiguousarray(guide_img)).to(device)
    return bgr.permute(2, 0, 1).flip(0).unsqueeze(0).float() / 255


def input_guide_rgb(image: torch.Tensor, metainfo: dict,
                    data_preprocessor: nn.Module) -> torch.Tensor:
    """The network's input image as RGB in [0, 1], as the prediction sees it.

    Undoes ``SegDataPreProcessor``'s normalisation and channel order, and,
    like mmseg's ``postprocess_result`` does for the logits, its padding
    and a test-time flip.

    Args:
        image (Tensor): One preprocessed input, (3, H, W).
        metainfo (dict): The sample's metainfo (may be empty).
        data_preprocessor (nn.Module): The model's ``SegDataPreProcessor``.

    Returns:
        Tensor: (1, 3, h, w), h x w = ``metainfo['img_shape']`` if given.
    """
    # The mean and std buffers exist only when the preprocessor normalises.
    if getattr(data_preprocessor, 'mean', None) is not None:
        image = image * data_preprocessor.std + data_preprocessor.mean
    if not data_preprocessor.channel_conversion:
        image = image.flip(0)  # loaded BGR, never converted
    height, width = metainfo.get('img_shape', image.shape[-2:])[:2]
    image = image[:, :height, :width]
    if metainfo.get('flip'):
        dim = 2 if metainfo.get('flip_direction') == 'horizontal' else 1
        image = image.flip(dim)
    return image.unsqueeze(0) / 255


def refine_with_guided_filter(sample: SegDataSample,
                              image: torch.Tensor,
                              data_preprocessor: nn.Module,
                              radius: int,
                              eps: float,
                              guide_channels: str = 'luminance',
                              guide: Optional[str] = None) -> None:
    """Sharpen a post-processed binary prediction with the guided filter.

    The object probability, at the size ``postprocess_result`` gave it (the
    sample's ``ori_shape``), is filtered with the fast guided filter: the
    local models are fitted at the network's input size (the mask's own
    resolution, where ``radius`` is measured) and applied to a guide at the
    output size. The guide is the image a pipeline kept as ``guide_img``
    (:class:`KeepGuideImage`, at the photo's resolution) or else the
    network's input, upsampled.

    Args:
        sample (SegDataSample): With two-class ``seg_logits`` (background,
            object); its ``seg_logits`` and ``pred_sem_seg`` are replaced.
        image (Tensor): The sample's preprocessed network input, (3, H, W).
        data_preprocessor (nn.Module): The model's ``SegDataPreProcessor``.
        radius (int): Window radius, in pixels of the network's input.
        eps (float): Regularisation, in squared [0, 1] intensity units.
        guide_channels (str): What the filter takes of the guide image:
            'luminance' or 'rgb'. Defaults to 'luminance'.
        guide (str, optional): Deprecated name of ``guide_channels``, still
            read (with a warning) from configs saved before the rename.
    """
    if guide is not None:
        # FutureWarning: shown by default to the user running the config,
        # where a DeprecationWarning raised here would be hidden.
        warnings.warn(
            "model.test_cfg.guided_filter: 'guide' was renamed "
            f"'guide_channels'; write guide_channels={guide!r}.",
            FutureWarning,
            stacklevel=2)
        guide_channels = guide
    probs = sample.seg_logits.data.softmax(dim=0)
    out_size = probs.shape[-2:]
    metainfo = sample.metainfo
    if 'guide_img' in metainfo:
        rgb = stored_guide_rgb(metainfo['guide_img'], probs.device)
    else:
        rgb = input_guide_rgb(image, metainfo, data_preprocessor)
    lowres_size = metainfo.get('img_shape', image.shape[-2:])[:2]
    rgb = F.interpolate(
        rgb, size=out_size, mode='bilinear', align_corners=False)
    obj = guided_filter(
        rgb_to_guide(rgb, guide_channels), probs[None, 1:], radius, eps,
        lowres_size)[0].clamp(0, 1)
    logits = torch.cat([1 - obj, obj]).clamp_min(1e-6).log()
    sample.seg_logits = PixelData(data=logits)
    sample.pred_sem_seg = PixelData(data=logits.argmax(dim=0, keepdim=True))
