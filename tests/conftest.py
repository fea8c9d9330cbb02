"""Shared pytest helpers of mmseg_redo's test suite.

Helpers here are plain, clearly named functions (and fixtures) so that
several test files can share them; add new ones below without removing
others.
"""
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
VENV_PYTHON = sys.executable
#: Real photos with masks, beside the repository; tests that need them skip
#: where they are absent.
FLOWERS17 = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data', 'flowers17')
LFW = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data', 'lfw')

# ---------------------------------------------------------------------------
# Tiny ReDO training configs (reliability and distributed tests)
# ---------------------------------------------------------------------------
#: A ReDO config small enough for a few CPU iterations in well under a
#: second each: 16x16 synthetic images, batches of 4 (2 redrawn + 2 real),
#: networks a few channels wide, no validation unless asked.
TINY_REDO_CONFIG = '''
_base_ = [{toy!r}]
img_size = 16
z_dim = 4
model = dict(
    z_dim=z_dim,
    mask_net=dict(
        encoder=dict(channels=8, num_res_blocks=1),
        head=dict(
            in_channels=8, channels=8, pool_scales=(1, 2),
            norm_cfg=dict(type='GN', num_groups=4))),
    region_generators=dict(
        generator=dict(img_size=img_size, z_dim=z_dim, base_channels=4)),
    discriminator=dict(base_channels=4, num_down_blocks=2),
    z_encoder=dict(
        out_features=2 * z_dim, base_channels=4, num_down_blocks=2))
train_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(size=img_size, num_samples=16))
val_dataloader = dict(
    batch_size=4, num_workers=0, dataset=dict(size=img_size, num_samples=4))
test_dataloader = val_dataloader
train_cfg = dict(max_iters={max_iters}, val_interval={val_interval})
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval={ckpt_interval}, max_keep_ckpts=-1),
    visualization=dict(type='SegVisualizationHook', draw=False))
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False)
'''

#: Appended to the tiny config to switch validation off entirely.
NO_VALIDATION = '''
val_dataloader = None
val_cfg = None
val_evaluator = None
'''


def write_tiny_redo_config(directory: str,
                           max_iters: int = 4,
                           ckpt_interval: int = 2,
                           validate: bool = False,
                           val_interval: Optional[int] = None,
                           extra: str = '',
                           name: str = 'tiny_redo.py') -> str:
    """Write a tiny ReDO config (see :data:`TINY_REDO_CONFIG`) to a file.

    Args:
        directory (str): Where to write it (e.g. pytest's ``tmp_path``).
        max_iters (int): Training iterations. Defaults to 4.
        ckpt_interval (int): Checkpoint interval. Defaults to 2.
        validate (bool): Keep a (tiny) validation split and loop.
            Defaults to False: no validation at all.
        val_interval (int, optional): With ``validate``, the validation
            interval. Defaults to ``ckpt_interval``.
        extra (str): Python config text appended at the end (overrides).
        name (str): File name. Defaults to ``tiny_redo.py``.

    Returns:
        str: Path of the config file.
    """
    text = TINY_REDO_CONFIG.format(
        toy=osp.join(REPO_ROOT, 'configs', 'redo', 'redo_toy.py'),
        max_iters=max_iters,
        val_interval=val_interval or ckpt_interval,
        ckpt_interval=ckpt_interval)
    if not validate:
        text += NO_VALIDATION
    path = osp.join(str(directory), name)
    with open(path, 'w') as f:
        f.write(text + extra)
    return path


def tiny_run_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment for a training subprocess: one thread, repo importable.

    One intra-op thread keeps CPU results bitwise reproducible between runs
    and leaves the (shared, 2-core) machine's other core alone.
    """
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONPATH=os.pathsep.join([REPO_ROOT] +
                                   [p for p in [env.get('PYTHONPATH')] if p]))
    env.update(extra or {})
    return env


def train_command(config: str, work_dir: str, *flags: str) -> List[str]:
    """``tools/train.py CONFIG --work-dir WORK_DIR FLAGS`` with this Python."""
    return [
        VENV_PYTHON,
        osp.join(REPO_ROOT, 'tools', 'train.py'), config, '--work-dir',
        work_dir, *flags
    ]


def build_tiny_redo_runner(directory: str,
                           name: str,
                           cfg_options: Optional[dict] = None,
                           **config_kwargs):
    """An in-process mmengine Runner on a tiny ReDO config.

    Args:
        directory (str): Parent of the config file and the work dir.
        name (str): Unique per runner: names the work dir and the
            experiment (mmengine shares message hubs between runners of the
            same experiment name).
        cfg_options (dict, optional): Merged into the config.
        **config_kwargs: Passed to :func:`write_tiny_redo_config`.

    Returns:
        Runner: The runner (not trained yet).
    """
    from mmengine.runner import Runner
    cfg = Config.fromfile(
        write_tiny_redo_config(
            directory, name=f'{name}_config.py', **config_kwargs))
    cfg.work_dir = osp.join(str(directory), name)
    # Unique even across tests: a reused name would hand this runner the
    # message hub (runtime info, logged scalars) of an earlier one.
    cfg.experiment_name = f'{name}_{os.getpid()}_{time.time_ns()}'
    # Likewise the visualizer, built by name: an earlier runner's would
    # write this run's scalars into that runner's (deleted) log folder.
    if cfg.get('visualizer'):
        cfg.visualizer.name = f'{cfg.experiment_name}_visualizer'
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return Runner.from_cfg(cfg)


def save_untrained_checkpoint(config: str,
                              path: str,
                              object_index: Optional[int] = None) -> str:
    """Build ``config``'s model (seed 0), init it and save it to ``path``.

    The checkpoint carries the object/background class names, as a trained
    one does, so mmseg's ``init_model`` and inferencer take them from it.

    Args:
        config (str): Config file.
        path (str): Checkpoint file to write.
        object_index (int, optional): ReDO's object region to store.

    Returns:
        str: ``path``.
    """
    from mmengine.runner import save_checkpoint

    from mmseg_redo.datasets.base import OBJECT_METAINFO
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    if object_index is not None:
        model.object_index.fill_(object_index)
    save_checkpoint(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(OBJECT_METAINFO))), path)
    return path


# ---------------------------------------------------------------------------
# Comparing predictions made by two code paths
# ---------------------------------------------------------------------------
#: Pixels whose object probability lies within this of 0.5 are near-ties:
#: batched and single-image paths (or two CPUs) may round them either way.
DECIDED_MARGIN = 1e-3


def assert_same_decided_pixels(mask, prediction,
                               margin: float = DECIDED_MARGIN,
                               min_decided: float = 0.5) -> None:
    """``mask`` (H, W; nonzero = object) equals ``prediction``'s hard mask
    wherever the prediction is decided.

    Floating-point results of two code paths (batched or not, another
    thread count, another CPU) differ in the last bits, so pixels at
    probability ~0.5 may flip; only pixels whose object probability is
    farther than ``margin`` from 0.5 are compared. ``min_decided`` keeps
    the check from passing on an all-undecided prediction.

    Args:
        mask (np.ndarray): The mask written by one path.
        prediction (SegDataSample): The other path's prediction (two-class
            ``seg_logits`` and ``pred_sem_seg``).
        margin (float): Half-width of the undecided band.
        min_decided (float): Smallest share of decided pixels accepted.
    """
    prob = prediction.seg_logits.data.float().softmax(dim=0)[1].numpy()
    expected = prediction.pred_sem_seg.data[0].numpy()
    decided = np.abs(prob - 0.5) > margin
    assert decided.mean() >= min_decided, (
        f'only {decided.mean():.1%} of the pixels are decided')
    np.testing.assert_array_equal((mask > 0)[decided], (expected > 0)[decided])


# ---------------------------------------------------------------------------
# Running a tool as a command
# ---------------------------------------------------------------------------
def run_tool(relative_path: str, *args, **kwargs):
    """Run a script of tools/ as a user would, with this Python.

    Tests reach the code of the tools through the package; this runs a
    tool's command line itself (its flags, exit status and printed output).

    Args:
        relative_path (str): The script, relative to the repository root,
            e.g. ``'tools/test.py'``.
        *args: Its command-line arguments (made strings).
        **kwargs: Passed to :func:`subprocess.run`. By default the output
            is captured as text, the environment is :func:`tiny_run_env`'s,
            the working directory is the repository root and the timeout
            600 s.

    Returns:
        subprocess.CompletedProcess: The finished run, whatever its exit
        status.
    """
    options = dict(
        env=tiny_run_env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600)
    options.update(kwargs)
    return subprocess.run(
        [VENV_PYTHON,
         osp.join(REPO_ROOT, relative_path), *map(str, args)], **options)


# ---------------------------------------------------------------------------
# Small models and batches (model, recipe and hook tests)
# ---------------------------------------------------------------------------
#: The demo's config, the smallest ReDO the tests shrink further.
TOY = osp.join(REPO_ROOT, 'configs', 'redo', 'redo_toy.py')


def tiny_cfg(num_regions: int = 2, size: int = 32) -> Config:
    """The toy config, shrunk to ``size`` pixels and ``num_regions``."""
    cfg = Config.fromfile(TOY)
    z_dim = cfg.model.z_dim
    cfg.model.mask_net.head.num_classes = num_regions
    cfg.model.mask_net.head.out_channels = num_regions
    cfg.model.region_generators.num_regions = num_regions
    cfg.model.region_generators.generator.img_size = size
    cfg.model.z_encoder.out_features = num_regions * z_dim
    cfg.model.discriminator.num_down_blocks = 2
    cfg.model.z_encoder.num_down_blocks = 2
    return cfg


def build_model(cfg: Config):
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def batch(num_images: int, size: int = 32) -> dict:
    """A dataloader-style batch of uint8 BGR images."""
    g = torch.Generator().manual_seed(1)
    inputs = [
        torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
        for _ in range(num_images)
    ]
    samples = [
        SegDataSample(metainfo=dict(ori_shape=(size, size),
                                    img_shape=(size, size)))
        for _ in range(num_images)
    ]
    return dict(inputs=inputs, data_samples=samples)


class FixedMasks(nn.Module):
    """A 'mask net' returning given soft masks, whatever the images."""

    def __init__(self, masks: torch.Tensor) -> None:
        super().__init__()
        self.masks = masks

    def forward(self, images):
        return self.masks[:images.size(0)]


class FakeReDO(nn.Module):
    """Just what MaskAssignmentHook touches of a ReDO model."""

    def __init__(self, masks: torch.Tensor) -> None:
        super().__init__()
        self.mask_net = FixedMasks(masks)
        self.num_regions = masks.size(1)
        self.register_buffer('object_index', torch.tensor(0))
        self.data_preprocessor = lambda batch, training: batch


def pytest_configure(config) -> None:
    """Register the ``slow`` marker: ``pytest -m "not slow"`` is the quick
    loop (seconds per test), ``make test`` runs everything."""
    config.addinivalue_line(
        'markers', 'slow: takes more than about 10 s on a 2-core CPU '
        '(deselect with -m "not slow")')
