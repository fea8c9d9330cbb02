"""Write a model's predicted masks of a split as label PNGs (pseudo-labels).

A command line over :func:`mmseg_redo.apis.write_pseudo_labels`: each PNG is
single-channel, 0 = background, 1 = object (255 = ignore with
``--min-confidence`` or ``--agree-with``), at the photo's own size. The
images of a config's split are named after their stems (a dataset reads
them with ``data_prefix=dict(seg_map_path=DIR)``); those of a folder
(``--folder``) as ``segment_folder.py`` names its masks
(``ImageFolderDataset(seg_map_dir=DIR)`` reads them).

Examples:
    python tools/make_pseudo_labels.py configs/redo/redo_flowers17_cpu.py \
        work_dirs/redo_flowers17_cpu/best_mIoU_iter_1500.pth \
        --out work_dirs/redo_flowers17_cpu/pseudo_labels
    # Every photo of a folder; GrabCut first, then ReDO's confident pixels
    # where GrabCut agrees.
    python tools/make_pseudo_labels.py \
        configs/baselines/grabcut_flowers17-128x128.py none \
        --folder my_photos --out labels_gc
    python tools/make_pseudo_labels.py configs/redo/redo_image_folder_cpu.py \
        best.pth --folder my_photos --out labels --min-confidence 0.8 \
        --agree-with labels_gc
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from mmengine.config import Config, DictAction

from mmseg_redo.apis import (UsageError, init_folder_model, list_images,
                             output_names, split_images, write_pseudo_labels)


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
        '--folder',
        help='label every photo under this folder instead of a split '
        '(names as segment_folder.py gives its masks)')
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
    parser.add_argument(
        '--agree-with',
        help="another teacher's labels (same photos, same names): write "
        '255 where they differ')
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


def main(argv: Optional[List[str]] = None) -> dict:
    """Label the images and report where the PNGs went.

    Returns:
        dict: See :func:`mmseg_redo.apis.write_pseudo_labels`.
    """
    args = parse_args(argv)
    names = None
    if args.folder:
        rel_paths = list_images(args.folder)
        # Named over the whole folder, as the dataset names them.
        named = output_names(rel_paths)
        rel_paths = rel_paths[:args.limit]
        images = [osp.join(args.folder, rel) for rel in rel_paths]
        names = [named[rel] for rel in rel_paths]
    else:
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        images = split_images(cfg, args.split)[:args.limit]
    model = init_folder_model(args.config, args.checkpoint, args.device,
                              args.cfg_options)
    result = write_pseudo_labels(model, images, args.out, names,
                                 args.batch_size, args.num_workers,
                                 args.min_confidence, args.agree_with)
    written = [path for path in result['written'] if path]
    print(f'{len(written)} pseudo-labels written to {args.out}')
    for path, error in result['failed'].items():
        print(f'  failed (skipped): {path}: {error}')
    return result


if __name__ == '__main__':
    try:
        sys.exit(1 if main()['failed'] else 0)
    except UsageError as error:
        sys.exit(f'make_pseudo_labels.py: error: {error}')
