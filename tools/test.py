"""Test a ReDO (or any mmseg) checkpoint: mmseg's tools/test.py for this plugin.

The checkpoint may be left out (or given as ``none``) for a model without
weights, such as GrabCut (configs/baselines/grabcut_flowers17-*.py); a
model with weights and no checkpoint is refused rather than scored at its
random initialisation.

Example:
    python tools/test.py configs/redo/redo_flowers17.py best.pth \
        --show-dir vis
    python tools/test.py configs/baselines/grabcut_flowers17-128x128.py
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmseg_redo.utils import init_cpu_process_group


def parse_args() -> argparse.Namespace:
    """mmseg's testing flags."""
    parser = argparse.ArgumentParser(
        description='MMSeg test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint file; leave out (or "none") for a model without '
        'weights, such as GrabCut')
    parser.add_argument(
        '--work-dir',
        help='if specified, the evaluation metric results will be dumped'
        'into the directory as json')
    parser.add_argument(
        '--out',
        type=str,
        help='The directory to save output prediction for offline '
        'evaluation')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved. '
        'If specified, it will be automatically saved '
        'to the work_dir/timestamp/show_dir')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if args.checkpoint and args.checkpoint.lower() == 'none':
        args.checkpoint = None
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg: Config,
                               args: argparse.Namespace) -> Config:
    """Switch mmseg's SegVisualizationHook on for --show / --show-dir."""
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise RuntimeError(
            'VisualizationHook must be included in default_hooks. '
            'refer to usage "visualization=dict(type=\'VisualizationHook\')"')
    visualization_hook = default_hooks['visualization']
    visualization_hook['draw'] = True
    if args.show:
        visualization_hook['show'] = True
        visualization_hook['wait_time'] = args.wait_time
    if args.show_dir:
        visualizer = cfg.visualizer
        visualizer['save_dir'] = args.show_dir
    return cfg


def main() -> None:
    """Build the runner from the config and test the checkpoint."""
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True

    init_cpu_process_group(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    if args.checkpoint is None and next(runner.model.parameters(),
                                        None) is not None:
        raise SystemExit(
            f'{args.config} builds a model with weights: give its trained '
            'checkpoint (only weightless models such as GrabCut run '
            'without one)')
    runner.test()


if __name__ == '__main__':
    main()
