"""The redraw grid: what ReDO's generators paint into its masks.

One row per image: the image, its object mask overlaid, then ``K`` redraws
of the object region (region ``object_index``) and ``K`` redraws of the
background (every other region), each with its own code z. Used by
``tools/redraw_demo.py`` and by :class:`RedrawVisualizationHook`, so the
pictures made after training and during it are the same.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmengine.visualization import Visualizer

#: Overlay colour of the object mask (RGB): the object colour of the
#: datasets' palette.
OBJECT_COLOR: Tuple[int, int, int] = (255, 170, 0)
#: Height of the title strip above the grid, and the gap between tiles.
HEADER_HEIGHT = 24
GAP = 2
#: Smallest default tile side, so that the column titles fit.
MIN_TILE = 96


def to_uint8_rgb(images: torch.Tensor,
                 data_preprocessor: torch.nn.Module) -> np.ndarray:
    """Undo the data preprocessor's normalisation.

    Args:
        images (Tensor): Normalised images (B, 3, H, W), as the model sees
            them (and as the generators paint them).
        data_preprocessor (nn.Module): The model's ``SegDataPreProcessor``;
            its ``mean``/``std`` and channel conversion are undone.

    Returns:
        np.ndarray: RGB images, uint8, (B, H, W, 3).
    """
    images = images.detach().float()
    if getattr(data_preprocessor, '_enable_normalize', False):
        images = images * data_preprocessor.std + data_preprocessor.mean
    # SegDataPreProcessor(bgr_to_rgb=True) hands the model RGB images; with
    # no conversion they are still in the loaders' BGR order.
    if not getattr(data_preprocessor, 'channel_conversion', False):
        images = images.flip(1)
    images = images.clamp(0, 255).round().byte()
    return images.permute(0, 2, 3, 1).cpu().numpy()


@torch.no_grad()
def compute_redraws(model: torch.nn.Module,
                    inputs: torch.Tensor,
                    num_redraws: int = 3,
                    seed: int = 0) -> Dict[str, torch.Tensor]:
    """Masks and redraws of the object and of the background.

    The codes come from a private generator seeded with ``seed``, so the
    same seed gives the same z at every call (a training hook shows the
    same codes as training goes on) and the global RNG, which drives
    training, is left alone.

    Args:
        model (nn.Module): A :class:`ReDO` model (unwrapped), in eval mode.
        inputs (Tensor): Normalised images (B, 3, H, W) at the generators'
            size.
        num_redraws (int): Redraws per region. Defaults to 3.
        seed (int): Seed of the codes. Defaults to 0.

    Returns:
        dict[str, Tensor]: ``masks`` (B, n, H, W), ``object_index`` (int
        tensor), ``object`` and ``background`` (B, K, 3, H, W): the
        composites in the model's normalised space.
    """
    masks = model.mask_net(inputs)
    num_regions = masks.size(1)
    obj = int(model.object_index)
    others = [k for k in range(num_regions) if k != obj]
    gen = torch.Generator(device='cpu').manual_seed(seed)
    obj_redraws: List[torch.Tensor] = []
    bg_redraws: List[torch.Tensor] = []
    for _ in range(num_redraws):
        z = torch.randn(
            inputs.size(0), num_regions, model.z_dim,
            generator=gen).to(inputs.device)
        composites, painted = model.redraw(inputs, masks, z)
        obj_redraws.append(composites[:, obj])
        # All background regions repainted at once (for n = 2 this is
        # composites[:, 1 - obj]); the object keeps its pixels.
        bg_redraws.append(painted[:, others].sum(1) +
                          masks[:, obj:obj + 1] * inputs)
    return dict(
        masks=masks,
        object_index=torch.tensor(obj),
        object=torch.stack(obj_redraws, 1),
        background=torch.stack(bg_redraws, 1))


def _tile(image: np.ndarray, size: int) -> np.ndarray:
    """Scale a tile to ``size`` pixels a side (nearest: pixels stay sharp)."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    return mmcv.imresize(image, (size, size), interpolation='nearest')


def draw_redraw_grid(images: np.ndarray,
                     object_masks: np.ndarray,
                     object_redraws: np.ndarray,
                     background_redraws: np.ndarray,
                     tile_size: Optional[int] = None,
                     row_names: Optional[Sequence[str]] = None) -> np.ndarray:
    """Lay the redraws out as a grid with column titles.

    Args:
        images (np.ndarray): RGB uint8 images (B, H, W, 3).
        object_masks (np.ndarray): Soft object masks (B, H, W) in [0, 1];
            pixels >= 0.5 are overlaid in :data:`OBJECT_COLOR`.
        object_redraws (np.ndarray): RGB uint8 (B, K, H, W, 3).
        background_redraws (np.ndarray): RGB uint8 (B, K, H, W, 3).
        tile_size (int, optional): Side of each tile in the picture. Defaults
            to the smallest whole multiple of the image size that is at
            least :data:`MIN_TILE` (titles must fit).
        row_names (Sequence[str], optional): Written on each row's first
            tile (e.g. file names). Defaults to None.

    Returns:
        np.ndarray: The grid, RGB uint8.
    """
    num_rows, height = images.shape[:2]
    num_redraws = object_redraws.shape[1]
    # Whole multiples of the image size: nearest scaling keeps pixels square.
    size = tile_size or height * max(1, math.ceil(MIN_TILE / height))
    titles = (['image', 'object mask'] +
              [f'object z{j + 1}' for j in range(num_redraws)] +
              [f'backgr. z{j + 1}' for j in range(num_redraws)])
    num_cols = len(titles)
    step = size + GAP
    canvas = np.full(
        (HEADER_HEIGHT + num_rows * step, num_cols * step - GAP, 3),
        255,
        dtype=np.uint8)
    overlay = np.zeros(canvas.shape[:2], dtype=bool)
    for r in range(num_rows):
        tiles = [images[r], images[r]]
        tiles += list(object_redraws[r]) + list(background_redraws[r])
        top = HEADER_HEIGHT + r * step
        for c, tile in enumerate(tiles):
            canvas[top:top + size,
                   c * step:c * step + size] = _tile(tile, size)
        mask = _tile((object_masks[r] >= 0.5).astype(np.uint8), size)
        overlay[top:top + size, step:step + size] = mask.astype(bool)

    # mmengine's Visualizer blends the mask and renders the titles.
    vis = Visualizer(name='redraw_grid', image=canvas)
    if overlay.any():
        vis.draw_binary_masks(overlay, colors=OBJECT_COLOR, alphas=0.5)
    font_size = max(7, min(11, size // 10))
    vis.draw_texts(
        titles,
        positions=np.array([[c * step + size / 2, HEADER_HEIGHT / 2]
                            for c in range(num_cols)]),
        font_sizes=font_size,
        colors='black',
        vertical_alignments='center',
        horizontal_alignments='center')
    if row_names:
        vis.draw_texts([str(name) for name in row_names],
                       positions=np.array([[2, HEADER_HEIGHT + r * step + 2]
                                           for r in range(num_rows)]),
                       font_sizes=font_size,
                       colors='white',
                       bboxes=dict(
                           facecolor='black', alpha=0.5, pad=1, linewidth=0))
    return vis.get_image()


def redraw_grid(model: torch.nn.Module,
                inputs: torch.Tensor,
                num_redraws: int = 3,
                seed: int = 0,
                tile_size: Optional[int] = None,
                row_names: Optional[Sequence[str]] = None) -> np.ndarray:
    """Redraw ``inputs`` with ``model`` and draw the grid.

    Args:
        model (nn.Module): A :class:`ReDO` model (unwrapped). It is put in
            eval mode for the drawing and restored afterwards.
        inputs (Tensor): Normalised images (B, 3, H, W) at the generators'
            size (the output of the model's data preprocessor).
        num_redraws (int): Redraws per region. Defaults to 3.
        seed (int): Seed of the codes. Defaults to 0.
        tile_size (int, optional): See :func:`draw_redraw_grid`.
        row_names (Sequence[str], optional): See :func:`draw_redraw_grid`.

    Returns:
        np.ndarray: The grid, RGB uint8.
    """
    was_training = model.training
    model.eval()
    try:
        out = compute_redraws(model, inputs, num_redraws, seed)
    finally:
        model.train(was_training)
    preprocessor = model.data_preprocessor
    obj = int(out['object_index'])

    def rgb(redraws: torch.Tensor) -> np.ndarray:
        batch, k = redraws.shape[:2]
        flat = to_uint8_rgb(redraws.flatten(0, 1), preprocessor)
        return flat.reshape(batch, k, *flat.shape[1:])

    return draw_redraw_grid(
        to_uint8_rgb(inputs, preprocessor),
        out['masks'][:, obj].cpu().numpy(),
        rgb(out['object']),
        rgb(out['background']),
        tile_size=tile_size,
        row_names=row_names)
