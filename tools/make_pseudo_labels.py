"""Write a model's predicted masks of a split as label PNGs (pseudo-labels).

The first step of the refinement (configs/redo/redo_refine_flowers17.py): a
trained ReDO predicts the object mask of every training image, and a
supervised segmenter is then trained on these masks. No ground truth is
read.

Predictions go through mmseg's ``init_model`` / ``inference_model``: the
config's top-level ``test_pipeline`` resizes each photo as in training (no
crop), and the mask comes back at the photo's own size. Each PNG is
single-channel, 0 = background, 1 = object, named after the image's stem,
so a dataset can read it with ``data_prefix=dict(seg_map_path=DIR)``.

Example:
    python tools/make_pseudo_labels.py configs/redo/redo_flowers17_cpu.py \
        work_dirs/redo_flowers17_cpu/best_mIoU_iter_1500.pth \
        --out work_dirs/redo_flowers17_cpu/pseudo_labels
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

import mmcv
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar
from mmseg.apis import inference_model, init_model
from mmseg.registry import DATASETS


def split_images(cfg: Config, split: str) -> List[str]:
    """Image paths of a split (``train``, ``val`` or ``test``) of a config."""
    loader = cfg.get(f'{split}_dataloader')
    if not loader:
        raise ValueError(f'the config has no {split}_dataloader')
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(loader.dataset)
    return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]


def write_pseudo_labels(model,
                        images: List[str],
                        out_dir: str,
                        batch_size: int = 8) -> List[str]:
    """Predict every image and write its mask as ``<out_dir>/<stem>.png``.

    Args:
        model (nn.Module): A model from ``init_model``.
        images (list[str]): Image paths.
        out_dir (str): Output folder (created).
        batch_size (int): Images per forward pass (of one size). Defaults
            to 8.

    Returns:
        list[str]: The written PNG paths.
    """
    os.makedirs(out_dir, exist_ok=True)
    written = []
    progress = ProgressBar(len(images))
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        for path, result in zip(batch, inference_model(model, batch)):
            label = result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
            out = osp.join(out_dir,
                           osp.splitext(osp.basename(path))[0] + '.png')
            # A 0/1 single-channel PNG: what LoadObjectMask reads with the
            # 'label' rule (the same format as the Flowers-17 masks).
            mmcv.imwrite(label, out)
            written.append(out)
            progress.update()
    return written


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description='Write predicted masks of a split as label PNGs')
    parser.add_argument('config', help='config of the model')
    parser.add_argument('checkpoint', help='checkpoint of the model')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--split',
        default='train',
        choices=['train', 'val', 'test'],
        help="which split of the config's dataloaders to label")
    parser.add_argument(
        '--limit', type=int, help='label only the first N images')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[str]:
    """Label the split and report where the PNGs went."""
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    images = split_images(cfg, args.split)[:args.limit]
    model = init_model(cfg, args.checkpoint, device=args.device)
    written = write_pseudo_labels(model, images, args.out, args.batch_size)
    print(f'\n{len(written)} pseudo-labels written to {args.out}')
    return written


if __name__ == '__main__':
    main()
