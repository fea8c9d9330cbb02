"""Write a model's predicted masks of a split as label PNGs (pseudo-labels).

A command line over :func:`mmseg_redo.apis.write_pseudo_labels`: each PNG is
single-channel, 0 = background, 1 = object (255 = ignore with
``--min-confidence``), at the photo's own size, named after the image's
stem, so a dataset reads it with ``data_prefix=dict(seg_map_path=DIR)``.

Example:
    python tools/make_pseudo_labels.py configs/redo/redo_flowers17_cpu.py \
        work_dirs/redo_flowers17_cpu/best_mIoU_iter_1500.pth \
        --out work_dirs/redo_flowers17_cpu/pseudo_labels
"""
import argparse
import sys
from typing import List, Optional

from mmengine.config import Config, DictAction

from mmseg_redo.apis import (UsageError, init_folder_model, split_images,
                             write_pseudo_labels)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description='Write predicted masks of a split as label PNGs')
    parser.add_argument('config', help='config of the model')
    parser.add_argument(
        'checkpoint',
        help='checkpoint of the model ("none" for a model without '
        'weights, such as GrabCut)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--split',
        default='train',
        choices=['train', 'val', 'test'],
        help="which split of the config's dataloaders to label")
    parser.add_argument(
        '--limit', type=int, help='label only the first N images')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument(
        '--num-workers',
        type=int,
        default=2,
        help='data-loader processes decoding images (0: in this process)')
    parser.add_argument(
        '--min-confidence',
        type=float,
        help='write 255 (ignored in training) where the predicted class '
        'has a lower probability')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    args = parser.parse_args(argv)
    if args.checkpoint.lower() == 'none':
        args.checkpoint = None
    return args


def main(argv: Optional[List[str]] = None) -> List[str]:
    """Label the split and report where the PNGs went."""
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    images = split_images(cfg, args.split)[:args.limit]
    model = init_folder_model(args.config, args.checkpoint, args.device,
                              args.cfg_options)
    written = write_pseudo_labels(model, images, args.out, args.batch_size,
                                  args.num_workers, args.min_confidence)
    print(f'{len(written)} pseudo-labels written to {args.out}')
    return written


if __name__ == '__main__':
    try:
        main()
    except UsageError as error:
        sys.exit(f'make_pseudo_labels.py: error: {error}')
