"""Time full ReDO training iterations: the config's fast path vs faithful.

The variants are built in the same process from the same config and the
same initial weights: the *faithful* step (fp32, eager, composites
recomputed for the discriminator, PyTorch's default Adam, as the
reference) and the config's own step (``model.fast_path``,
``model.reuse_composites``, fused Adam). Iterations are timed in
alternating rounds after a warm-up, so machine noise hits every variant
alike; ``--flops`` adds each step's work per iteration and the rate it
reaches, ``--profile`` the costliest ops. Examples::

    python -m benchmarks.train_speed configs/redo/redo_flowers.py \
        --synthetic --iters 30 [--flops]
    python -m benchmarks.train_speed configs/redo/redo_toy.py --only-fast
"""
import argparse
import copy
import resource
import statistics
import time
from typing import Callable, Dict, Iterator, List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch.utils.flop_counter import FlopCounterMode

from mmseg_redo.utils import make_faithful


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


def build_variant(cfg: Config, faithful: bool, state: dict, device: str,
                  eager: bool = False) -> Callable[[dict], Dict]:
    """A model and its optimizers; returns its train-step function
    (``eager``: the config's step without ``torch.compile``, whose work
    FlopCounterMode can count; the same computation)."""
    cfg = copy.deepcopy(cfg)
    if faithful:
        make_faithful(cfg)
    elif eager and cfg.model.get('fast_path'):
        cfg.model.fast_path['compile'] = False
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


def count_flops(step: Callable, batch: dict) -> int:
    """Floating-point operations of one iteration of an eager ``step``.

    PyTorch's FLOP counter: convolutions, matrix products and attention,
    forward and backward (elementwise work is not counted, as in
    ``../shared/docs/anchors.md``'s figures for the reference).
    """
    with FlopCounterMode(display=False) as counter:
        step(batch)
    return counter.get_total_flops()


def profile_step(step: Callable, batches: Iterator[dict], n: int,
                 device: str) -> None:
    """Print where ``n`` iterations of ``step`` spend their time.

    On CUDA, also the kernel launches and the device's busy time per
    iteration beside the wall time: a step whose wall time far exceeds its
    busy time is bound by launching kernels, not by computing.
    """
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device == 'cuda':
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    data = [next(batches) for _ in range(n)]
    with torch.profiler.profile(activities=activities) as prof:
        wall = sum(time_iters(step, iter(data), n, device)) / n
    events = prof.key_averages()
    sort_by = ('self_device_time_total'
               if device == 'cuda' else 'self_cpu_time_total')
    print(f'profile of {n} iterations of the config\'s step, costliest ops:')
    print(events.table(sort_by=sort_by, row_limit=15))
    summary = f'per iteration: {wall * 1e3:.1f} ms wall (profiled)'
    if device == 'cuda':
        kernels = [
            e for e in prof.events()
            if e.device_type == torch.autograd.DeviceType.CUDA
        ]
        busy_ms = sum(e.time_range.elapsed_us() for e in kernels) / n / 1e3
        launches = sum(e.count for e in events
                       if e.key in ('cudaLaunchKernel', 'cuLaunchKernel',
                                    'cudaLaunchKernelExC'))
        # Each one makes the host wait for the device: no overlap of the
        # next launches with the work already queued.
        syncs = sum(e.count for e in events if 'Synchronize' in e.key)
        summary += (f', {busy_ms:.1f} ms of device work, '
                    f'{len(kernels) / n:.0f} kernels, '
                    f'{launches / n:.0f} launch calls and '
                    f'{syncs / n:.0f} host-device synchronisations '
                    '(one is the timer\'s)')
    print(summary)


def benchmark_train(cfg: Config,
                    synthetic: bool = False,
                    iters: int = 20,
                    warmup: int = 5,
                    rounds: int = 3,
                    device: Optional[str] = None,
                    only_fast: bool = False,
                    flops: bool = False,
                    profile: int = 0) -> Dict[str, float]:
    """Warm up, time every variant in alternating rounds, print the table.

    Printed: per variant the median seconds per iteration, iterations and
    images per second, peak GPU memory and warm-up time; the speed-up;
    with ``flops`` each step's work per iteration and the rate reached;
    with ``profile`` the costliest ops of the config's step.

    Args:
        cfg (Config): A ReDO config; not modified.
        synthetic (bool): Random uint8 tensors instead of the config's data.
        iters (int): Timed iterations per variant.
        warmup (int): Untimed iterations first (compilation included).
        rounds (int): Alternating timing rounds.
        device (str, optional): ``'cpu'`` or ``'cuda'`` (default: the GPU
            if there is one).
        only_fast (bool): Time only the config's step.
        flops (bool): Count each step's floating-point work.
        profile (int): Iterations of the config's step to profile after
            timing (0: none).

    Returns:
        dict[str, float]: Median seconds per iteration of each variant.
    """
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    # As in training (env_cfg).
    torch.backends.cudnn.benchmark = cfg.get('env_cfg', {}).get(
        'cudnn_benchmark', False)
    torch.manual_seed(0)
    reference = MODELS.build(copy.deepcopy(cfg.model))
    reference.init_weights()
    state = reference.state_dict()
    batches = synthetic_batches(cfg) if synthetic else real_batches(cfg)
    batch_size = cfg.train_dataloader.batch_size // 2

    variants = {'fast (config)': build_variant(cfg, False, state, device)}
    if not only_fast:
        variants['faithful fp32'] = build_variant(cfg, True, state, device)
    peak = dict.fromkeys(variants, 0.0)
    times: Dict[str, List[float]] = {name: [] for name in variants}

    def run(name: str, n: int) -> List[float]:
        if device == 'cuda':
            torch.cuda.reset_peak_memory_stats()
        seconds = time_iters(variants[name], batches, n, device)
        if device == 'cuda':
            peak[name] = max(peak[name],
                             torch.cuda.max_memory_allocated() / 2**30)
        return seconds

    # The first steps compile the networks where the config asks.
    warmup_seconds = {name: sum(run(name, warmup)) for name in variants}
    for _ in range(rounds):
        for name in variants:
            times[name] += run(name, max(iters // rounds, 1))

    print(f'config: {cfg.filename}; device: {device} '
          f'({torch.cuda.get_device_name() if device == "cuda" else "CPU"}, '
          f'{torch.get_num_threads()} threads); batch {batch_size} redrawn + '
          f'{batch_size} real images; data: '
          f'{"synthetic tensors" if synthetic else "config pipeline"}')
    print(f'{"variant":16s} {"median s/it":>12s} {"it/s":>8s} '
          f'{"img/s":>8s} {"peak GPU GiB":>13s} {"warm-up s":>10s}')
    medians = {}
    for name, values in times.items():
        medians[name] = statistics.median(values)
        mem = f'{peak[name]:.2f}' if device == 'cuda' else 'n/a'
        print(f'{name:16s} {medians[name]:12.4f} {1 / medians[name]:8.2f} '
              f'{batch_size / medians[name]:8.1f} {mem:>13s} '
              f'{warmup_seconds[name]:10.1f}')
    print(f'warm-up: the first {warmup} iterations of each variant, '
          'compilation included')
    if 'faithful fp32' in medians:
        print("speed-up of the config's step over the faithful fp32 step: "
              f'{medians["faithful fp32"] / medians["fast (config)"]:.2f}x')
    if flops:
        batch = next(batches)
        for name, step in variants.items():
            if name == 'fast (config)':
                step = build_variant(cfg, False, state, device, eager=True)
            tflop = count_flops(step, batch) / 1e12
            print(f'{name}: {tflop:.4g} TFLOP per iteration, '
                  f'{tflop / medians[name]:.4g} TFLOP/s at its median time')
    if profile:
        profile_step(variants['fast (config)'], batches, profile, device)
    if device == 'cpu':
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f'peak resident memory of the process: {rss:.2f} GiB')
    return medians


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    """Time the config's variants and print the table."""
    parser = argparse.ArgumentParser(description='Benchmark ReDO training')
    add = parser.add_argument
    add('config', help='config file')
    add('--synthetic', action='store_true',
        help="random uint8 tensors instead of the config's data pipeline")
    add('--iters', type=int, default=20, help='timed iterations per variant')
    add('--warmup', type=int, default=5, help='untimed iterations first')
    add('--rounds', type=int, default=3, help='alternating timing rounds')
    add('--device', default=None, help='cpu or cuda')
    add('--only-fast', action='store_true',
        help="time only the config's step (e.g. to save GPU time)")
    add('--profile', type=int, default=0, metavar='N',
        help="after timing, profile N iterations of the config's step and "
        'print its costliest ops (and kernel launches and device busy time '
        'per iteration on CUDA)')
    add('--flops', action='store_true',
        help='after timing, count the floating-point work of one iteration '
        "of each step (eager; the config's step without torch.compile, "
        'the same computation) and print TFLOP/s from the median times')
    add('--cfg-options', nargs='+', action=DictAction,
        help='override config settings')
    kwargs = vars(parser.parse_args(argv))
    cfg = Config.fromfile(kwargs.pop('config'))
    cfg.merge_from_dict(kwargs.pop('cfg_options') or {})
    return benchmark_train(cfg, **kwargs)


if __name__ == '__main__':
    main()
