"""Train a ReDO (or any mmseg) model: mmseg's tools/train.py for this plugin.

Example:
    python tools/train.py configs/redo/redo_flowers17.py
    python tools/train.py configs/redo/redo_toy.py --work-dir work_dirs/toy
    python tools/train.py configs/redo/redo_toy.py --resume
    python tools/train.py configs/redo/redo_image_folder_cpu.py \
        --data-root "path/to/My Photos"
"""
import argparse
import logging
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmseg_redo.utils import (init_cpu_process_group, make_faithful,
                              merge_cfg_options)


def parse_args() -> argparse.Namespace:
    """mmseg's training flags."""
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest checkpoint in the work_dir '
        'automatically')
    parser.add_argument(
        '--faithful',
        action='store_true',
        help='exact fp32 reproduction of the reference step: switch off the '
        "config's fast path (model.fast_path), composite reuse and the "
        'fused Adam kernel')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed. data_root=DIR also sets the data_root of every '
        "dataloader that used the config's data_root.")
    parser.add_argument(
        '--data-root',
        help="set the config's data_root and every dataloader's that used "
        'it, like --cfg-options data_root=DIR, but taken verbatim: '
        '--cfg-options drops spaces and splits values at commas')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    """Build the runner from the config and train."""
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    options = dict(args.cfg_options or {})
    if args.data_root is not None:
        options['data_root'] = args.data_root
    merge_cfg_options(cfg, options)
    if args.faithful:
        make_faithful(cfg)

    # work_dir priority: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.resume = args.resume
    if args.resume:
        print_log(f'Resuming from the latest checkpoint in {cfg.work_dir}',
                  logger='current', level=logging.INFO)

    init_cpu_process_group(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
