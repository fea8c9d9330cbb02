"""Time full ReDO training iterations: the config's fast path vs faithful.

A command line over :func:`mmseg_redo.benchmark.benchmark_train`: the
config's own step (``model.fast_path``, ``model.reuse_composites``, fused
Adam) against the *faithful* one (fp32, eager, as the reference), and with
``--reference-code DIR`` (a local checkout of github.com/mickaelChen/ReDO,
which this project does not ship) the official networks in the official
script's iteration. The medians of alternating timing rounds and their
ratios are printed; ``--flops`` adds each step's floating-point work per
iteration and the rate it reaches, to compare with the device's peak.

Example:
    python tools/analysis_tools/benchmark_train.py configs/redo/redo_flowers.py \
        --synthetic --iters 30 [--reference-code ../ReDO] [--flops]
    python tools/analysis_tools/benchmark_train.py configs/redo/redo_toy.py
"""
import argparse
from typing import Dict, List, Optional

from mmengine.config import Config, DictAction

from mmseg_redo.benchmark import benchmark_train


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description='Benchmark ReDO training')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--synthetic',
        action='store_true',
        help='random uint8 tensors instead of the config\'s data pipeline')
    parser.add_argument(
        '--iters', type=int, default=20, help='timed iterations per variant')
    parser.add_argument(
        '--warmup', type=int, default=5, help='untimed iterations first')
    parser.add_argument(
        '--rounds', type=int, default=3, help='alternating timing rounds')
    parser.add_argument('--device', default=None, help='cpu or cuda')
    parser.add_argument(
        '--only-fast',
        action='store_true',
        help='time only the config\'s step (e.g. to save GPU time)')
    parser.add_argument(
        '--profile',
        type=int,
        default=0,
        metavar='N',
        help='after timing, profile N iterations of the config\'s step and '
        'print its costliest ops (and kernel launches and device busy time '
        'per iteration on CUDA)')
    parser.add_argument(
        '--flops',
        action='store_true',
        help='after timing, count the floating-point work of one iteration '
        'of each step (eager; the config\'s step without torch.compile, '
        'the same computation) and print TFLOP/s from the median times')
    parser.add_argument(
        '--reference-code',
        metavar='DIR',
        help='also time the official ReDO networks from this checkout of '
        'github.com/mickaelChen/ReDO (its models.py; 128x128 configs only)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings')
    return parser.parse_args(argv)



def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    """Time the config's variants and print the table."""
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return benchmark_train(
        cfg,
        synthetic=args.synthetic,
        iters=args.iters,
        warmup=args.warmup,
        rounds=args.rounds,
        device=args.device,
        only_fast=args.only_fast,
        reference_code=args.reference_code,
        flops=args.flops,
        profile=args.profile)


if __name__ == '__main__':
    main()
