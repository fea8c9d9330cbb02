"""Show what a trained ReDO redraws: one grid row per image.

Each row: the image, its object mask overlaid, ``K`` redraws of the object
region (region ``object_index``) with different codes z, then ``K`` redraws
of the background. Everything is at the model's input size after the
config's test preprocessing (for the Flowers configs: shorter side resized,
centre crop), which is the size the generators paint at.

Example:
    python tools/redraw_demo.py configs/redo/redo_flowers17_cpu.py \
        work_dirs/redo_flowers17_cpu/best_mIoU_iter_1500.pth \
        ../shared/data/flowers17/images/image_0001.jpg \
        ../shared/data/flowers17/images/image_0081.jpg \
        --out redraws.png --num-redraws 4 --seed 1
"""
import argparse
import copy
import os.path as osp
from typing import List, Optional

import mmcv
import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import print_log
from mmseg.apis import init_model

from mmseg_redo.visualization import redraw_grid

#: Loaders replaced by a file loader, and ground-truth steps dropped: the
#: demo reads bare image files.
LOADERS = ('LoadImageFromFile', 'LoadImageFromFileChecked',
           'LoadSyntheticSample', 'InferencerLoader')
NO_IMAGE_STEPS = ('LoadAnnotations', 'LoadObjectMask', 'ResetOriShape')


def image_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline, reading bare image files.

    The loader becomes ``LoadImageFromFileChecked`` (keeping its options
    for file loaders) and the ground-truth steps are dropped; the resizing
    and cropping stay.

    Args:
        cfg (Config): The model's config.

    Returns:
        Compose: The pipeline, taking ``dict(img_path=...)``.
    """
    steps = []
    for step in copy.deepcopy(cfg.test_dataloader.dataset.pipeline):
        kind = step.get('type')
        if kind in NO_IMAGE_STEPS:
            continue
        if kind in LOADERS:
            if kind == 'LoadSyntheticSample':
                step = dict()
            step['type'] = 'LoadImageFromFileChecked'
        steps.append(step)
    if not steps or steps[0]['type'] != 'LoadImageFromFileChecked':
        steps.insert(0, dict(type='LoadImageFromFileChecked'))
    return Compose(steps)


def load_inputs(model, cfg: Config, images: List[str]) -> torch.Tensor:
    """Images through the test pipeline and the model's data preprocessor.

    Args:
        model (nn.Module): The ReDO model.
        cfg (Config): Its config.
        images (list[str]): Image files.

    Returns:
        Tensor: Normalised images (B, 3, S, S) at the generators' size S.
    """
    pipeline = image_pipeline(cfg)
    batch = pseudo_collate([pipeline(dict(img_path=path)) for path in images])
    shapes = {tuple(x.shape[-2:]) for x in batch['inputs']}
    size = cfg.model.region_generators.generator.img_size
    if shapes != {(size, size)}:
        # A test pipeline without a crop to the training size (e.g. the
        # synthetic data's): bring each image to the generators' size.
        print_log(
            f'images are {sorted(shapes)} after the test pipeline; resizing '
            f'to the generators\' {size}x{size}',
            logger='current')
        batch['inputs'] = [
            F.interpolate(
                x[None].float(), (size, size),
                mode='bilinear',
                align_corners=False)[0] for x in batch['inputs']
        ]
    return model.data_preprocessor(batch, False)['inputs']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description='Draw ReDO redraws of images into one PNG grid')
    parser.add_argument('config', help='config of the ReDO model')
    parser.add_argument('checkpoint', help='checkpoint of the ReDO model')
    parser.add_argument('images', nargs='+', help='image files (one row each)')
    parser.add_argument('--out', required=True, help='output PNG file')
    parser.add_argument(
        '--num-redraws', type=int, default=3, help='redraws per region (K)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the z')
    parser.add_argument(
        '--tile-size', type=int, help='side of each tile in pixels')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    """Draw the grid and write it; return the output path."""
    args = parse_args(argv)
    if not args.out.lower().endswith('.png'):
        raise ValueError(f'--out must be a .png file, got {args.out}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = init_model(cfg, args.checkpoint, device=args.device)
    if not hasattr(model, 'redraw'):
        raise TypeError(f'{args.config} is not a ReDO model '
                        f'({type(model).__name__} cannot redraw)')
    inputs = load_inputs(model, cfg, args.images)
    grid = redraw_grid(
        model,
        inputs,
        num_redraws=args.num_redraws,
        seed=args.seed,
        tile_size=args.tile_size,
        row_names=[osp.basename(p) for p in args.images])
    mmcv.imwrite(mmcv.rgb2bgr(grid), args.out)
    print(f'wrote {args.out} ({grid.shape[1]}x{grid.shape[0]}, '
          f'object = region {int(model.object_index)})')
    return args.out


if __name__ == '__main__':
    main()
