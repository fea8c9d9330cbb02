"""Tests of the training benchmark (mmseg_redo.benchmark.train_speed and
tools/analysis_tools/benchmark_train.py).

It times tiny configs on CPU with synthetic tensors; the official
code's networks are replaced by a stand-in ``models.py`` (same class names
and constructor arguments, one conv each) that counts its forward passes,
so the test checks that the official iteration's structure is timed.
"""
import pytest
import torch
from conftest import run_tool, write_tiny_redo_config
from mmengine.config import Config

from mmseg_redo.benchmark import train_speed


#: The official models.py's classes as tiny stand-ins with the official
#: names and arguments; ``CALLS`` counts forward passes per network.
FAKE_OFFICIAL_MODELS = '''
import torch
import torch.nn as nn

CALLS = dict(M=0, G=0, D=0, Z=0)


class _netEncM(nn.Module):
    def __init__(self, sizex=128, nIn=3, nMasks=2, nRes=5, nf=128,
                 temperature=1):
        super().__init__()
        self.conv = nn.Conv2d(nIn, nMasks, 3, padding=1)

    def forward(self, x):
        CALLS['M'] += 1
        return torch.softmax(self.conv(x), dim=1)


class _netGenX(nn.Module):
    def __init__(self, sizex=128, nOut=3, nc=8, nf=64, nMasks=2,
                 selfAtt=False):
        super().__init__()
        self.linear = nn.Linear(nc, nOut)

    def forward(self, masks, c):
        CALLS['G'] += 1
        colour = torch.tanh(self.linear(c.flatten(2)))  # B, n, 3
        return colour[..., None, None] * masks.unsqueeze(2)


class _resDiscriminator128(nn.Module):
    def __init__(self, nIn=3, nf=64, selfAtt=False):
        super().__init__()
        self.conv = nn.Conv2d(nIn, 1, 3, padding=1)

    def forward(self, x):
        CALLS['D'] += 1
        return self.conv(x).mean(dim=(2, 3))


class _netRecZ(nn.Module):
    def __init__(self, sizex=128, nIn=3, nc=5, nf=64, nMasks=2):
        super().__init__()
        self.conv = nn.Conv2d(nIn, nc * nMasks, 3, padding=1)
        self.shape = (nMasks, nc, 1, 1)

    def forward(self, x):
        CALLS['Z'] += 1
        return self.conv(x).mean(dim=(2, 3)).view(-1, *self.shape)
'''

#: The tiny config at 128x128 with four down-blocks, the only size the
#: official networks exist for.
AT_128 = '''
img_size = 128
model = dict(
    region_generators=dict(generator=dict(img_size=img_size)),
    discriminator=dict(num_down_blocks=4),
    z_encoder=dict(num_down_blocks=4))
train_dataloader = dict(dataset=dict(size=img_size))
'''


def run_benchmark(capsys, config: str, **kwargs) -> str:
    """Time ``config`` (synthetic data); return what was printed."""
    torch.manual_seed(0)
    train_speed.benchmark_train(
        Config.fromfile(config), synthetic=True, **kwargs)
    return capsys.readouterr().out


@pytest.mark.slow
def test_times_config_and_faithful_steps(tmp_path):
    config = write_tiny_redo_config(str(tmp_path))
    run = run_tool('tools/analysis_tools/benchmark_train.py', config,
                   '--synthetic', '--iters', '2', '--warmup', '1', '--rounds',
                   '2', '--profile', '1', '--flops')
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert 'batch 2 redrawn + 2 real images' in out
    rows = {line.split()[0] for line in out.splitlines() if line}
    assert {'fast', 'faithful'} <= rows
    assert "speed-up of the config's step over the faithful fp32 step" in out
    assert 'official code' not in out
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
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    from torch.utils.flop_counter import FlopCounterMode

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
        train_speed.eager_twin(cfg, state, 'cpu'), batch)
    faithful = train_speed.count_flops(
        train_speed.build_variant(cfg, True, state, 'cpu'), batch)
    assert recomputed > 0
    assert faithful - config_step == recomputed


def test_times_official_networks_in_official_iteration(
        tmp_path, monkeypatch, capsys):
    checkout = tmp_path / 'ReDO'
    checkout.mkdir()
    (checkout / 'models.py').write_text(FAKE_OFFICIAL_MODELS)
    config = write_tiny_redo_config(str(tmp_path), extra=AT_128)
    loaded = {}
    load_models = train_speed.load_reference_models
    monkeypatch.setattr(train_speed, 'load_reference_models',
                        lambda code: loaded.setdefault('models',
                                                       load_models(code)))
    out = run_benchmark(
        capsys,
        config,
        only_fast=True,
        iters=2,
        warmup=1,
        rounds=1,
        reference_code=str(checkout))
    assert any(line.startswith('official code') for line in out.splitlines())
    assert "over the official code step" in out
    # Per official iteration: mask net and generators twice (the generator
    # step, then the recomputed composites), the discriminator three times
    # (fakes in the generator step; reals and fakes in its own step), the
    # z-encoder once. 1 warm-up + 2 timed iterations.
    calls = loaded['models'].CALLS
    assert calls == dict(M=6, G=6, D=9, Z=3)


def test_reference_code_needs_models_py_and_128px(tmp_path, capsys):
    config = write_tiny_redo_config(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='no models.py in'):
        run_benchmark(
            capsys, config, only_fast=True, reference_code=str(tmp_path))
    (tmp_path / 'models.py').write_text(FAKE_OFFICIAL_MODELS)
    with pytest.raises(ValueError, match='128x128 images only'):
        run_benchmark(
            capsys, config, only_fast=True, reference_code=str(tmp_path))
