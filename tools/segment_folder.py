"""Segment every photo under a folder: masks, cut-outs, scores, review page.

A command line over :func:`mmseg_redo.apis.segment_folder` (see it for the
outputs): ``OUT/masks``, ``OUT/cutouts``, ``OUT/thumbs``, ``OUT/scores.csv``
(every photo's label-free quality score and flags), ``OUT/index.html`` (a
review page, worst masks first, that works offline) and
``OUT/contact_sheet.png``. A rerun finishes an interrupted folder without
redoing finished photos; the exit status is 1 when a file failed.

Examples:
    python tools/segment_folder.py configs/redo/redo_flowers17_cpu.py \
        work_dirs/redo_flowers17_cpu/best_mIoU_iter_4000.pth my_photos \
        --out my_photos_segmented
    # GrabCut has no weights: no checkpoint.
    python tools/segment_folder.py \
        configs/baselines/grabcut_flowers17-128x128.py my_photos --out gc
    # Two processes on this machine (mmengine's launcher, as tools/test.py).
    torchrun --nproc-per-node 2 tools/segment_folder.py CONFIG CKPT \
        my_photos --out out --launcher pytorch
    # Machine 2 of 3, into a folder they all share.
    python tools/segment_folder.py CONFIG CKPT my_photos --out out \
        --shard 1/3
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Tuple

import torch
import torch.distributed as dist
from mmengine.config import DictAction
from mmengine.dist import get_rank, init_dist

from mmseg_redo.apis import UsageError, init_folder_model, segment_folder
from mmseg_redo.utils import init_cpu_process_group


def parse_shard(text: str) -> Tuple[int, int]:
    """``'I/N'`` as ``(I, N)``, for ``--shard``."""
    try:
        index, count = (int(part) for part in text.split('/'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r}: give the share as I/N, e.g. 0/3 for the first of '
            'three machines') from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(
            f'{text!r}: I must be in 0 to N-1, e.g. 0/3, 1/3, 2/3')
    return index, count


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags (mmseg's inference flags where they apply)."""
    parser = argparse.ArgumentParser(
        description='Segment every photo under a folder: masks, RGBA '
        'cut-outs, quality scores and a review page')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint file; leave out (or "none") for a model without '
        'weights, such as GrabCut')
    parser.add_argument('in_dir', help='folder of photos (recursive)')
    parser.add_argument(
        '--out', required=True, help='output folder (not inside IN_DIR)')
    parser.add_argument(
        '--device',
        default=None,
        help='device for the model, e.g. cpu, cuda:0 (default: the '
        "process's GPU if there is one, else cpu)")
    parser.add_argument(
        '--batch-size', type=int, default=16, help='photos per forward pass')
    parser.add_argument(
        '--num-workers',
        type=int,
        default=2,
        help='data-loader processes decoding photos (0: in this process)')
    parser.add_argument(
        '--shard',
        type=parse_shard,
        default=(0, 1),
        metavar='I/N',
        help='do only share I of N of the photos (for machines sharing '
        'the output folder without a launcher)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher (torchrun: pytorch)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if args.checkpoint and args.checkpoint.lower() == 'none':
        args.checkpoint = None
    return args


def init_launcher(launcher: str) -> None:
    """Join the launch's process group (gloo without GPUs, as training)."""
    if launcher == 'none':
        return
    init_cpu_process_group(None, launcher)
    if not dist.is_initialized():
        init_dist(launcher)


def default_device() -> str:
    """This process's GPU (its local rank's) if there is one, else cpu."""
    if not torch.cuda.is_available():
        return 'cpu'
    return f'cuda:{os.environ.get("LOCAL_RANK", 0)}'


def print_summary(summary: dict, out_dir: str) -> None:
    """Counts, failed files, speed and where the outputs are."""
    done, failed = summary['done'], summary['failed']
    print(f'done {len(done)}, skipped {len(summary["skipped"])} (already '
          f'finished), failed {len(failed)}')
    for rel, error in failed.items():
        print(f'  failed: {rel}: {error}')
    if done:
        print(f'{len(done)} images in {summary["seconds"]:.1f} s: '
              f'{len(done) / summary["seconds"]:.2f} images/s (decoding, '
              f'model and writing; {summary["processes"]} process(es))')
    report = summary['report']
    print(f'masks: {osp.join(out_dir, "masks")}, cut-outs: '
          f'{osp.join(out_dir, "cutouts")}')
    print(f'scores of {report["finished"]} photos: {report["scores"]}')
    if report['index']:
        print(f'review page (worst first): {report["index"]}')
        print(f'contact sheet: {report["contact_sheet"]} (the first '
              f'{report["shown"]} photos by path)')


def main(argv: Optional[List[str]] = None) -> dict:
    """Segment the folder and print the summary (first process only).

    Returns:
        dict: See :func:`mmseg_redo.apis.segment_folder`.
    """
    args = parse_args(argv)
    init_launcher(args.launcher)
    model = init_folder_model(args.config, args.checkpoint, args.device
                              or default_device(), args.cfg_options)
    summary = segment_folder(model, args.in_dir, args.out, args.batch_size,
                             args.num_workers, args.shard)
    if get_rank() == 0:
        print_summary(summary, args.out)
    return summary


if __name__ == '__main__':
    try:
        sys.exit(1 if main()['failed'] else 0)
    except UsageError as error:
        sys.exit(f'segment_folder.py: error: {error}')
