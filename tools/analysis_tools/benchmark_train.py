"""Time full ReDO training iterations: the config's fast path vs faithful.

Both variants are built in the same process from the same config and the
same initial weights: the *faithful* step (fp32, eager, composites
recomputed for the discriminator, PyTorch's default Adam, as the
reference) and the config's own step (``model.fast_path``,
``model.reuse_composites``, fused Adam). Iterations of the two are timed in
alternating rounds after a warm-up, so machine noise hits both alike; the
medians and their ratio are printed.

Example:
    python tools/analysis_tools/benchmark_train.py configs/redo/redo_flowers.py \
        --synthetic --iters 30
    python tools/analysis_tools/benchmark_train.py configs/redo/redo_toy.py
"""
import argparse
import copy
import resource
import statistics
import time
from typing import Callable, Dict, Iterator, List

import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg_redo.utils import make_faithful


def parse_args() -> argparse.Namespace:
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
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings')
    return parser.parse_args()


def synthetic_batches(cfg: Config) -> Iterator[dict]:
    """Endless batches of random images shaped like the config's."""
    size = cfg.model.region_generators.generator.img_size
    batch = cfg.train_dataloader.batch_size
    g = torch.Generator().manual_seed(0)
    while True:
        yield dict(
            inputs=[
                torch.randint(0, 256, (3, size, size), dtype=torch.uint8,
                              generator=g) for _ in range(batch)
            ],
            data_samples=[SegDataSample() for _ in range(batch)])


def real_batches(cfg: Config) -> Iterator[dict]:
    """Endless batches from the config's training dataloader."""
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    while True:
        yield from loader


def build_variant(cfg: Config, faithful: bool, state: dict,
                  device: str) -> Callable[[dict], Dict]:
    """A model and its optimizers; returns its train-step function."""
    cfg = copy.deepcopy(cfg)
    if faithful:
        make_faithful(cfg)
    model = MODELS.build(cfg.model)
    model.load_state_dict(state)
    model.to(device).train()
    wrappers = build_optim_wrapper(model, cfg.optim_wrapper)
    return lambda batch: model.train_step(batch, wrappers)


def time_iters(step: Callable, batches: Iterator[dict], n: int,
               device: str) -> List[float]:
    """Seconds of each of ``n`` training iterations (data loading excluded)."""
    times = []
    for _ in range(n):
        batch = next(batches)
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        step(batch)
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    """Warm up, time both variants in alternating rounds, print."""
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    torch.manual_seed(0)
    reference = MODELS.build(copy.deepcopy(cfg.model))
    reference.init_weights()
    state = reference.state_dict()
    batches = (synthetic_batches(cfg)
               if args.synthetic else real_batches(cfg))
    batch_size = cfg.train_dataloader.batch_size // 2

    variants = {'fast (config)': build_variant(cfg, False, state, device)}
    if not args.only_fast:
        variants['faithful fp32'] = build_variant(cfg, True, state, device)
    peak = {}
    times: Dict[str, List[float]] = {name: [] for name in variants}
    warmup_seconds = {}
    for name, step in variants.items():
        if device == 'cuda':
            torch.cuda.reset_peak_memory_stats()
        # The first steps compile the networks where the config asks.
        warmup_seconds[name] = sum(
            time_iters(step, batches, args.warmup, device))
        if device == 'cuda':
            peak[name] = torch.cuda.max_memory_allocated() / 2**30
    for _ in range(args.rounds):
        for name, step in variants.items():
            if device == 'cuda':
                torch.cuda.reset_peak_memory_stats()
            times[name] += time_iters(step, batches,
                                      max(args.iters // args.rounds, 1),
                                      device)
            if device == 'cuda':
                peak[name] = max(peak[name],
                                 torch.cuda.max_memory_allocated() / 2**30)

    print(f'config: {args.config}; device: {device} '
          f'({torch.cuda.get_device_name() if device == "cuda" else "CPU"}, '
          f'{torch.get_num_threads()} threads); batch {batch_size} redrawn + '
          f'{batch_size} real images; data: '
          f'{"synthetic tensors" if args.synthetic else "config pipeline"}')
    print(f'{"variant":16s} {"median s/it":>12s} {"it/s":>8s} '
          f'{"img/s":>8s} {"peak GPU GiB":>13s} {"warm-up s":>10s}')
    medians = {}
    for name, values in times.items():
        medians[name] = statistics.median(values)
        mem = f'{peak[name]:.2f}' if name in peak else 'n/a'
        print(f'{name:16s} {medians[name]:12.4f} {1 / medians[name]:8.2f} '
              f'{batch_size / medians[name]:8.1f} {mem:>13s} '
              f'{warmup_seconds[name]:10.1f}')
    print(f'warm-up: the first {args.warmup} iterations of each variant, '
          'compilation included')
    if len(medians) == 2:
        ratio = medians['faithful fp32'] / medians['fast (config)']
        print(f'speed-up of the config\'s step over the faithful step: '
              f'{ratio:.2f}x')
    if device == 'cpu':
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f'peak resident memory of the process: {rss:.2f} GiB')


if __name__ == '__main__':
    main()
