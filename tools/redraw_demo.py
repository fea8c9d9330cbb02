"""Show what a trained ReDO redraws: one grid row per image.

Each row: the image, its object mask overlaid, ``K`` redraws of the object
region (region ``object_index``) with different codes z, then ``K`` redraws
of the background. Everything is at the model's input size after the
config's test preprocessing (for the Flowers configs: shorter side resized,
centre crop), which is the size the generators paint at (see
:mod:`mmseg_redo.visualization.redraw_inputs`).

Example:
    python tools/redraw_demo.py configs/redo/redo_flowers17_cpu.py \
        work_dirs/redo_flowers17_cpu/best_mIoU_iter_1500.pth \
        ../shared/data/flowers17/images/image_0001.jpg \
        ../shared/data/flowers17/images/image_0081.jpg \
        --out redraws.png --num-redraws 4 --seed 1
"""
import argparse
import os.path as osp
from typing import List, Optional

import mmcv
from mmengine.config import Config, DictAction
from mmseg.apis import init_model

from mmseg_redo.visualization import redraw_grid
from mmseg_redo.visualization.redraw_inputs import load_redraw_inputs


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
    inputs = load_redraw_inputs(model, cfg, args.images)
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
