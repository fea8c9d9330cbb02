"""Time full ReDO training iterations: the config's fast path vs faithful.

The variants are built in the same process from the same config and the
same initial weights: the *faithful* step (fp32, eager, composites
recomputed for the discriminator, PyTorch's default Adam, as the
reference) and the config's own step (``model.fast_path``,
``model.reuse_composites``, fused Adam). With a local checkout of the
official code (github.com/mickaelChen/ReDO, which this project does not
ship), the official networks are timed too, in the official script's
iteration. Iterations are timed in alternating rounds after a warm-up, so
machine noise hits every variant alike (:func:`benchmark_train`).
"""
import copy
import importlib.util
import os.path as osp
import resource
import statistics
import time
from typing import Callable, Dict, Iterator, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.utils.flop_counter import FlopCounterMode

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from ..engine.optim_constructor import optimizer_settings
from ..utils import make_faithful


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


def load_reference_models(code_dir: str):
    """Import ``models.py`` of a checkout of the official ReDO code."""
    path = osp.join(code_dir, 'models.py')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'--reference-code: no models.py in {code_dir}; pass the folder '
            'of a checkout of github.com/mickaelChen/ReDO.')
    spec = importlib.util.spec_from_file_location('redo_reference_models',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_reference_step(cfg: Config, code_dir: str,
                         device: str) -> Callable[[dict], None]:
    """The official networks and iteration, sized like ``cfg``.

    The networks come from the checkout's ``models.py`` with the Flowers
    command's arguments read from the config; the iteration follows the
    official ``train.py``: one backward pass for mask net, generators and
    z-encoder (gradients reach the discriminator too, and are cleared before
    its update), then the discriminator's hinge loss on the real images and
    on composites recomputed without gradients, in two forward passes.
    """
    ref = load_reference_models(code_dir)
    model = cfg.model
    gen = model.region_generators.generator
    size, regions, z_dim = (gen.img_size, model.region_generators.num_regions,
                            model.z_dim)
    if size != 128 or any(
            net.get('num_down_blocks', 4) != 4
            for net in (model.discriminator, model.z_encoder)):
        raise ValueError('--reference-code: the official networks exist for '
                         '128x128 images only (4 down-blocks in D and the '
                         f'z-encoder); {cfg.filename} is not such a config.')
    net_m = ref._netEncM(
        sizex=size,
        nMasks=regions,
        nRes=model.mask_net.encoder.num_res_blocks,
        nf=model.mask_net.encoder.channels)
    net_g = ref._netGenX(
        sizex=size,
        nc=z_dim,
        nf=gen.base_channels,
        nMasks=regions,
        selfAtt=gen.self_attention)
    net_d = ref._resDiscriminator128(
        nf=model.discriminator.base_channels,
        selfAtt=model.discriminator.get('self_attention', False))
    net_z = ref._netRecZ(
        sizex=size, nc=z_dim, nf=model.z_encoder.base_channels,
        nMasks=regions)
    nets = dict(
        mask_net=net_m, region_generators=net_g, discriminator=net_d,
        z_encoder=net_z)
    optimizers = {}
    for name, net in nets.items():
        net.to(device).train()
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.orthogonal_(module.weight, model.init_gain)
        settings = optimizer_settings(cfg.optim_wrapper, name)
        optimizers[name] = torch.optim.Adam(
            net.parameters(),
            lr=settings['lr'],
            betas=tuple(settings['betas']),
            weight_decay=settings.get('weight_decay', 0))

    def composites(images: torch.Tensor, z: torch.Tensor):
        masks = net_m(images)
        painted = net_g(masks, z)
        kept = (1 - masks.unsqueeze(2)) * images.unsqueeze(1)
        return (painted + kept).flatten(0, 1), painted

    def step(batch: dict) -> None:
        inputs = torch.stack(batch['inputs']).to(device).float() / 127.5 - 1
        images, real_images = inputs.chunk(2)
        z = torch.randn(images.size(0), regions, z_dim, 1, 1, device=device)
        for optimizer in optimizers.values():
            optimizer.zero_grad()
        fakes, painted = composites(images, z)
        loss = -net_d(fakes).mean() + model.lambda_z * F.mse_loss(
            net_z(painted.sum(1)), z)
        loss.backward()
        for name in ('mask_net', 'region_generators', 'z_encoder'):
            optimizers[name].step()
        optimizers['discriminator'].zero_grad()
        with torch.no_grad():
            fakes, _ = composites(images, z)
        loss_d = (F.relu(1 - net_d(real_images)).mean() +
                  F.relu(1 + net_d(fakes)).mean())
        loss_d.backward()
        optimizers['discriminator'].step()

    return step


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


def eager_twin(cfg: Config, state: dict, device: str) -> Callable:
    """The config's step without ``torch.compile`` (for counting work)."""
    cfg = copy.deepcopy(cfg)
    if cfg.model.get('fast_path'):
        cfg.model.fast_path['compile'] = False
    return build_variant(cfg, False, state, device)


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
                    reference_code: Optional[str] = None,
                    flops: bool = False,
                    profile: int = 0) -> Dict[str, float]:
    """Warm up, time every variant in alternating rounds, print the table.

    Printed: per variant the median seconds per iteration, iterations and
    images per second, peak GPU memory and warm-up time; the speed-ups;
    with ``flops`` each step's work per iteration and the rate reached;
    with ``profile`` the costliest ops of the config's step.

    Args:
        cfg (Config): A ReDO config; not modified.
        synthetic (bool): Random uint8 tensors instead of the config's data
            pipeline. Defaults to False.
        iters (int): Timed iterations per variant. Defaults to 20.
        warmup (int): Untimed iterations first (compilation included).
            Defaults to 5.
        rounds (int): Alternating timing rounds. Defaults to 3.
        device (str, optional): ``'cpu'`` or ``'cuda'``. Defaults to the
            GPU if there is one.
        only_fast (bool): Time only the config's step. Defaults to False.
        reference_code (str, optional): A checkout of the official code,
            whose networks are timed too (128x128 configs only).
        flops (bool): Count each step's floating-point work (eager; the
            config's step without ``torch.compile``). Defaults to False.
        profile (int): Iterations of the config's step to profile after
            timing. Defaults to 0: none.

    Returns:
        dict[str, float]: Median seconds per iteration of each variant.
    """
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    # As in training (env_cfg) and in the official script.
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
    if reference_code:
        variants['official code'] = build_reference_step(
            cfg, reference_code, device)
    peak = {}
    times: Dict[str, List[float]] = {name: [] for name in variants}
    warmup_seconds = {}
    for name, step in variants.items():
        if device == 'cuda':
            torch.cuda.reset_peak_memory_stats()
        # The first steps compile the networks where the config asks.
        warmup_seconds[name] = sum(time_iters(step, batches, warmup, device))
        if device == 'cuda':
            peak[name] = torch.cuda.max_memory_allocated() / 2**30
    for _ in range(rounds):
        for name, step in variants.items():
            if device == 'cuda':
                torch.cuda.reset_peak_memory_stats()
            times[name] += time_iters(step, batches, max(iters // rounds, 1),
                                      device)
            if device == 'cuda':
                peak[name] = max(peak[name],
                                 torch.cuda.max_memory_allocated() / 2**30)

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
        mem = f'{peak[name]:.2f}' if name in peak else 'n/a'
        print(f'{name:16s} {medians[name]:12.4f} {1 / medians[name]:8.2f} '
              f'{batch_size / medians[name]:8.1f} {mem:>13s} '
              f'{warmup_seconds[name]:10.1f}')
    print(f'warm-up: the first {warmup} iterations of each variant, '
          'compilation included')
    for name in ('faithful fp32', 'official code'):
        if name in medians:
            print(f'speed-up of the config\'s step over the {name} step: '
                  f'{medians[name] / medians["fast (config)"]:.2f}x')
    if 'official code' in medians and 'faithful fp32' in medians:
        print('speed-up of the faithful step over the official code: '
              f'{medians["official code"] / medians["faithful fp32"]:.2f}x')
    if flops:
        batch = next(batches)
        for name, step in variants.items():
            if name == 'fast (config)':
                step = eager_twin(cfg, state, device)
            tflop = count_flops(step, batch) / 1e12
            print(f'{name}: {tflop:.4g} TFLOP per iteration, '
                  f'{tflop / medians[name]:.4g} TFLOP/s at its median time')
    if profile:
        profile_step(variants['fast (config)'], batches, profile, device)
    if device == 'cpu':
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f'peak resident memory of the process: {rss:.2f} GiB')
    return medians
