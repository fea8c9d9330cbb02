"""Render the built-in synthetic object images (pure numpy/OpenCV).

Each sample is one object on a background; the object's shape, its colours
and the background are drawn independently. With the default
``palette='shared'``, object and background colours come from the *same*
distribution, so no colour threshold shared by the whole set separates them.
The looks (:func:`render_synthetic_sample`'s arguments):

- the default: objects are a smoothly shaded colour with a fine (1-5 pixel)
  pattern, backgrounds low-frequency coloured noise mixing a palette of
  their own, with sensor noise over the whole image; not even a colour
  threshold chosen per image *with the labels* separates them well
  (docs/datasets.md).
- ``fine_pattern=False, noise_std=0, background='coherent'``: flat shaded
  objects on scene-wide backgrounds (a colour ramp crossed by a wave).
  Every part of such a background predicts the rest, so only the object can
  be redrawn on its own: the cue ReDO learns from, and one it picks up
  within a CPU budget (the default look formed no masks in the runs tried,
  see the project's notes). With the shared palette, ReDO's masks roughly
  follow the objects, but which region is the object flips between images
  (docs/benchmarks.md#demo-config-choices).
- the demo's (the same with ``palette='split'``): vivid objects on muted,
  greyish scenes, like the paper's toy data (coloured digits on a grey
  background). Object and background now differ in their statistics, so
  each region generator specialises in one of them and the object is the
  same region in every image (no polarity flips; the demo's scores:
  docs/benchmarks.md). Note that one saturation threshold for the whole
  set separates this look perfectly: it shows ReDO finding that cue without
  labels, not a hard segmentation problem.
"""
import colorsys
from typing import Tuple

import cv2
import numpy as np

# Fraction of the image the object covers, as the docs promise.
MIN_AREA = 0.15
MAX_AREA = 0.40
# Sensor-like noise over the whole image (same for object and background):
# it blurs the exact colour values that a per-image threshold could use.
NOISE_STD = 0.04
_SHAPES = ('blob', 'ellipse', 'polygon')
# (saturation, value) ranges of the colour distributions: one shared by
# objects and scenes, and palette='split''s vivid objects and muted scenes.
SatVal = Tuple[Tuple[float, float], Tuple[float, float]]
SHARED_SAT_VAL: SatVal = ((0.25, 0.95), (0.3, 0.95))
OBJECT_SAT_VAL: SatVal = ((0.6, 1.0), (0.55, 1.0))
BACKGROUND_SAT_VAL: SatVal = ((0.0, 0.25), (0.2, 0.85))
# render_synthetic_sample's palettes: (object, background) distributions.
PALETTES = dict(
    shared=(SHARED_SAT_VAL, SHARED_SAT_VAL),
    split=(OBJECT_SAT_VAL, BACKGROUND_SAT_VAL))


def random_colour(rng: np.random.Generator,
                  sat_val: SatVal = SHARED_SAT_VAL) -> np.ndarray:
    """Draw one colour: uniform hue, saturation and value in ranges.

    Args:
        rng (np.random.Generator): Source of randomness.
        sat_val (SatVal): ``((sat_lo, sat_hi), (val_lo, val_hi))``.
            Defaults to the distribution shared by objects and scenes.

    Returns:
        np.ndarray: RGB colour, float32 in [0, 1], shape (3,).
    """
    (sat_lo, sat_hi), (val_lo, val_hi) = sat_val
    hue = rng.random()
    sat = rng.uniform(sat_lo, sat_hi)
    val = rng.uniform(val_lo, val_hi)
    return np.array(colorsys.hsv_to_rgb(hue, sat, val), dtype=np.float32)


def _smooth_field(rng: np.random.Generator, size: int,
                  cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a random grid upsampled bicubically."""
    grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
    field = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    lo, hi = field.min(), field.max()
    return (field - lo) / max(hi - lo, 1e-6)


def render_background(rng: np.random.Generator,
                      size: int,
                      sat_val: SatVal = SHARED_SAT_VAL) -> np.ndarray:
    """Low-frequency coloured noise blending a random palette.

    Args:
        rng (np.random.Generator): Source of randomness.
        size (int): Side of the square image.
        sat_val (SatVal): Colour distribution (see :func:`random_colour`).

    Returns:
        np.ndarray: RGB float32 image in [0, 1], shape (size, size, 3).
    """
    # Several palette colours and a slow brightness swing make the scene
    # span a wide range in every colour channel, so that no single
    # threshold can cut the object out of it.
    num_colours = int(rng.integers(3, 7))
    palette = np.stack(
        [random_colour(rng, sat_val) for _ in range(num_colours)])
    sharpness = rng.uniform(3.0, 8.0)
    logits = np.stack([
        _smooth_field(rng, size, int(rng.integers(2, 6)))
        for _ in range(num_colours)
    ], -1) * sharpness
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    brightness = 0.5 + _smooth_field(rng, size, 3)
    return (weights @ palette) * brightness[..., None]


def render_coherent_background(rng: np.random.Generator,
                               size: int,
                               sat_val: SatVal = SHARED_SAT_VAL) -> np.ndarray:
    """A scene-wide structure: a two-colour ramp crossed by a coarse wave.

    Every part of such a background predicts the rest, as in photographs
    (and unlike independent noise blobs), so a region redrawn on its own
    breaks the structure unless its border is the object's border: the
    property ReDO relies on.

    Args:
        rng (np.random.Generator): Source of randomness.
        size (int): Side of the square image.
        sat_val (SatVal): Colour distribution (see :func:`random_colour`).

    Returns:
        np.ndarray: RGB float32 image in [0, 1], shape (size, size, 3).
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    ramp_angle, wave_angle = rng.uniform(0, 2 * np.pi, 2)
    ramp = np.clip(
        xx * np.cos(ramp_angle) + yy * np.sin(ramp_angle) + 0.5, 0, 1)
    start, end = random_colour(rng, sat_val), random_colour(rng, sat_val)
    colour = start + (end - start) * ramp[..., None]
    period = rng.uniform(0.25, 0.5)  # in image widths
    wave = np.sin(2 * np.pi *
                  (xx * np.cos(wave_angle) + yy * np.sin(wave_angle)) /
                  period + rng.uniform(0, 2 * np.pi))
    return colour * (1 + rng.uniform(0.1, 0.25) * wave[..., None])


def _fine_pattern(rng: np.random.Generator, size: int) -> np.ndarray:
    """A fine pattern in [0, 1]: stripes, a checkerboard or speckles."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    kind = rng.integers(3)
    if kind == 0:
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(2.5, 5.0)
        phase = rng.uniform(0, 2 * np.pi)
        proj = xx * np.cos(angle) + yy * np.sin(angle)
        return 0.5 + 0.5 * np.sin(2 * np.pi * proj / period + phase)
    if kind == 1:
        cell = int(rng.integers(1, 4))
        return ((xx // cell + yy // cell) % 2).astype(np.float32)
    speckle = rng.random((size, size)).astype(np.float32)
    # A 2x2 box blur keeps speckles fine but not pure per-pixel noise.
    return cv2.blur(speckle, (2, 2)) if rng.random() < 0.5 else speckle


def render_object_texture(rng: np.random.Generator,
                          size: int,
                          fine_pattern: bool = True,
                          sat_val: SatVal = SHARED_SAT_VAL) -> np.ndarray:
    """A smoothly shaded colour, optionally overlaid with a fine pattern.

    Args:
        rng (np.random.Generator): Source of randomness.
        size (int): Side of the square image.
        fine_pattern (bool): Overlay a fine pattern in a second colour.
        sat_val (SatVal): Colour distribution (see :func:`random_colour`).

    Returns:
        np.ndarray: RGB float32 image in [0, 1], shape (size, size, 3).
    """
    base = random_colour(rng, sat_val)
    texture = np.broadcast_to(base, (size, size, 3))
    if fine_pattern:
        second = random_colour(rng, sat_val)
        amount = rng.uniform(0.5, 1.0)
        pattern = _fine_pattern(rng, size)[..., None] * amount
        texture = base * (1 - pattern) + second * pattern
    # Smooth shading: a linear ramp across the image, as if lit from a side.
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    ramp = xx * np.cos(angle) + yy * np.sin(angle)
    shading = 1 + rng.uniform(-0.4, 0.4) * ramp
    return texture * shading[..., None]


def _shape_outline(rng: np.random.Generator, kind: str) -> np.ndarray:
    """Closed outline of a star-shaped region of radius about 1.

    Returns:
        np.ndarray: (N, 2) float32 points (x, y) centred near the origin.
    """
    theta = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    if kind == 'blob':
        radius = np.ones_like(theta)
        for k in range(2, 5):
            radius += rng.uniform(-0.22, 0.22) / np.sqrt(k - 1) * np.cos(
                k * theta + rng.uniform(0, 2 * np.pi))
        points = np.stack([radius * np.cos(theta), radius * np.sin(theta)], 1)
    elif kind == 'ellipse':
        points = np.stack(
            [np.cos(theta),
             rng.uniform(0.5, 1.0) * np.sin(theta)], 1)
    else:  # polygon: jittered, evenly spread vertices with random radii.
        num = int(rng.integers(3, 9))
        angles = (np.arange(num) + rng.uniform(-0.3, 0.3, num)) * (2 * np.pi /
                                                                   num)
        radius = rng.uniform(0.6, 1.0, num)
        points = np.stack([radius * np.cos(angles), radius * np.sin(angles)],
                          1)
    rot = rng.uniform(0, 2 * np.pi)
    rotation = np.array([[np.cos(rot), -np.sin(rot)],
                         [np.sin(rot), np.cos(rot)]])
    return (points @ rotation.T).astype(np.float32)


def _rasterise(outlines, size: int) -> np.ndarray:
    """Fill polygons (sub-pixel precision) into a uint8 0/1 mask."""
    mask = np.zeros((size, size), np.uint8)
    shift = 4  # 1/16 pixel fixed-point precision
    # One call per part: fillPoly with several polygons uses the even-odd
    # rule, which would cut the overlap of a union out as a hole.
    for points in outlines:
        poly = np.round(points * (1 << shift)).astype(np.int32)
        cv2.fillPoly(mask, [poly], 1, lineType=cv2.LINE_8, shift=shift)
    return mask


def render_object_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    """One random shape (blob, ellipse, polygon or a union of two).

    The shape covers between ``MIN_AREA`` and ``MAX_AREA`` of the image and
    lies fully inside it (at least one pixel from every border).

    Args:
        rng (np.random.Generator): Source of randomness.
        size (int): Side of the square image.

    Returns:
        np.ndarray: uint8 mask, 1 = object, shape (size, size).
    """
    for _ in range(100):
        parts = [_shape_outline(rng, _SHAPES[rng.integers(3)])]
        if rng.random() < 0.35:  # union with a smaller overlapping part
            offset = rng.uniform(-0.7, 0.7, 2).astype(np.float32)
            parts.append(
                _shape_outline(rng, _SHAPES[rng.integers(3)]) *
                rng.uniform(0.4, 0.8) + offset)
        target = rng.uniform(MIN_AREA + 0.02, MAX_AREA - 0.02) * size * size
        # Scale on a canvas large enough for any scale, then correct the
        # scale once from the rasterised area (area grows as scale squared).
        scale = np.sqrt(target / np.pi)
        for _ in range(2):
            canvas = 4 * size
            area = _rasterise([p * scale + canvas / 2 for p in parts],
                              canvas).sum()
            scale *= np.sqrt(target / max(area, 1))
        points = np.concatenate(parts) * scale
        low, high = points.min(0), points.max(0)
        free = (size - 2) - (high - low)  # room left inside a 1-px border
        if (free < 0).any():
            continue
        shift = 1 - low + rng.uniform(0, 1, 2) * free
        mask = _rasterise([p * scale + shift for p in parts], size)
        frac = mask.mean()
        border = np.concatenate([mask[0], mask[-1], mask[:, 0],
                                 mask[:, -1]]).any()
        if MIN_AREA <= frac <= MAX_AREA and not border:
            return mask
    raise RuntimeError(f'could not draw a shape for image size {size}')


def render_synthetic_sample(
        rng: np.random.Generator,
        size: int = 64,
        fine_pattern: bool = True,
        noise_std: float = NOISE_STD,
        background: str = 'noise',
        palette: str = 'shared') -> Tuple[np.ndarray, np.ndarray]:
    """Render one synthetic image and its exact object mask.

    Args:
        rng (np.random.Generator): Source of randomness; the same generator
            state gives the same sample.
        size (int): Side of the square image in pixels. Defaults to 64.
        fine_pattern (bool): Give objects a fine pattern over their shaded
            colour. Defaults to True.
        noise_std (float): Standard deviation of the sensor-like noise over
            the whole image, in [0, 1] units. Defaults to ``NOISE_STD``.
        background (str): 'noise' (:func:`render_background`, blobs of a
            random palette) or 'coherent'
            (:func:`render_coherent_background`). Defaults to 'noise'.
        palette (str): 'shared': object and background colours from one
            distribution; 'split': vivid objects on muted scenes (see
            :data:`PALETTES`). Defaults to 'shared'.

    Returns:
        tuple[np.ndarray, np.ndarray]: The image, uint8 **RGB**, shape
        (size, size, 3), and the mask, uint8 0 = background / 1 = object,
        shape (size, size).
    """
    if palette not in PALETTES:
        raise ValueError(f"palette must be 'shared' or 'split', got "
                         f'{palette!r}')
    object_sat_val, background_sat_val = PALETTES[palette]
    mask = render_object_mask(rng, size)
    obj = render_object_texture(rng, size, fine_pattern, object_sat_val)
    if background == 'coherent':
        background = render_coherent_background(rng, size, background_sat_val)
    elif background == 'noise':
        background = render_background(rng, size, background_sat_val)
    else:
        raise ValueError(f"background must be 'noise' or 'coherent', got "
                         f'{background!r}')
    img = np.where(mask[..., None].astype(bool), obj, background)
    if noise_std > 0:
        img = img + rng.normal(0.0, noise_std, img.shape)
    img = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    return img, mask
