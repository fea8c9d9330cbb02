"""The README's demo: train ReDO on the built-in synthetic data, then test it.

Trains ``configs/redo/redo_toy.py`` (64x64 synthetic images made in code,
narrow networks, minutes on 2 CPU cores), reloads the checkpoint that was
best on the validation split, scores it on the held-out test split and
prints the scores and where the pictures are.

Example:
    python tools/demo.py --work-dir work_dirs/redo_toy
"""
import argparse
import glob
import os.path as osp
import subprocess
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner


def parse_args() -> argparse.Namespace:
    """Flags: the config, the work dir and config overrides."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--config', default='configs/redo/redo_toy.py', help='config file')
    parser.add_argument(
        '--work-dir', default='work_dirs/redo_toy', help='output folder')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=100')
    return parser.parse_args()


def best_checkpoint(work_dir: str) -> str:
    """The checkpoint CheckpointHook kept as best on validation."""
    found = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')))
    if not found:
        raise FileNotFoundError(
            f'no best_*.pth in {work_dir}: did validation run? '
            '(train_cfg.val_interval must be <= train_cfg.max_iters)')
    return found[-1]


def main() -> None:
    """Train, test the best checkpoint, print the scores."""
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir
    Runner.from_cfg(cfg.copy()).train()

    checkpoint = best_checkpoint(args.work_dir)
    test_cfg = cfg.copy()
    test_cfg.load_from = checkpoint
    test_cfg.work_dir = osp.join(args.work_dir, 'test')
    metrics = Runner.from_cfg(test_cfg).test()
    curves = osp.join(args.work_dir, 'curves.png')
    subprocess.run([
        sys.executable,
        osp.join(osp.dirname(__file__), 'analysis_tools', 'plot_curves.py'),
        args.work_dir, '--out', curves
    ], check=True)

    print('\n' + '=' * 70)
    print(f'ReDO demo: {args.config}, best checkpoint {checkpoint}')
    print('Scores on the held-out test split:')
    for key, value in metrics.items():
        print(f'  {key:24s} {value:.4f}')
    print(f'Logs and checkpoints: {args.work_dir}')
    print(f'Pictures: {curves} (scores and losses against iteration), '
          f'{osp.join(args.work_dir, "redraws")}/iter_*.png (image, object '
          'mask, redraws of the object and of the background)')
    print('=' * 70)


if __name__ == '__main__':
    main()
