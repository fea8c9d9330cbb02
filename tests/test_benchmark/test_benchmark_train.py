"""Tests of the training benchmark (``python -m benchmarks.train_speed``):
a tiny config timed on CPU with synthetic tensors, and the work it counts.
"""
import subprocess

import pytest
import torch
from conftest import (REPO_ROOT, VENV_PYTHON, tiny_run_env,
                      write_tiny_redo_config)
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from torch.utils.flop_counter import FlopCounterMode

from benchmarks import train_speed


@pytest.mark.slow
def test_times_config_and_faithful_steps(tmp_path):
    config = write_tiny_redo_config(str(tmp_path))
    run = subprocess.run(
        [VENV_PYTHON, '-m', 'benchmarks.train_speed', config, '--synthetic',
         '--iters', '2', '--warmup', '1', '--rounds', '2', '--profile', '1',
         '--flops'],
        cwd=REPO_ROOT, env=tiny_run_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert 'batch 2 redrawn + 2 real images' in out
    rows = {line.split()[0] for line in out.splitlines() if line}
    assert {'fast', 'faithful'} <= rows
    assert "speed-up of the config's step over the faithful fp32 step" in out
    assert 'aten::convolution_backward' in out  # the profile's op table
    assert 'per iteration:' in out
    for name in ('fast (config)', 'faithful fp32'):
        assert f'{name}: ' in out and 'TFLOP per iteration' in out


def test_flops_count_each_steps_own_work(tmp_path):
    """The tiny config reuses the composites; the faithful step does not.

    So the faithful step's counted work exceeds the config's by exactly one
    mask-net and one generator forward pass at the batch (the composites
    recomputed without gradients), counted here independently.
    """
    cfg = Config.fromfile(write_tiny_redo_config(str(tmp_path)))
    assert cfg.model.reuse_composites
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = model.state_dict()
    batch = next(train_speed.synthetic_batches(cfg))

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        inputs = model.data_preprocessor(batch, True)['inputs']
        images = inputs[:inputs.size(0) // 2]
        model.redraw(images, model.mask_net(images),
                     model.sample_z(images.size(0)))
    recomputed = counter.get_total_flops()

    config_step = train_speed.count_flops(
        train_speed.build_variant(cfg, False, state, 'cpu', eager=True), batch)
    faithful = train_speed.count_flops(
        train_speed.build_variant(cfg, True, state, 'cpu'), batch)
    assert recomputed > 0
    assert faithful - config_step == recomputed
