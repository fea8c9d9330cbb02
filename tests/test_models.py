"""Tests of ReDO's networks, composition, losses and training step."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_redo  # noqa: F401
from mmseg_redo.models.redo import (generator_side_loss,
                                    hinge_discriminator_loss)

CONFIGS = 'configs/redo/'


def count(module: torch.nn.Module) -> float:
    """Parameters in millions."""
    return sum(p.numel() for p in module.parameters()) / 1e6


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def build(cfg_path: str, **model_overrides):
    cfg = Config.fromfile(cfg_path)
    cfg.model.update(model_overrides)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


def test_flowers_parameter_counts_match_reference():
    """Parameter counts of redo_flowers.py within 5% of the reference."""
    _, model = build(CONFIGS + 'redo_flowers.py')
    counts = {
        'mask_net': count(model.mask_net),
        'region_generators': count(model.region_generators),
        'discriminator': count(model.discriminator),
        'z_encoder': count(model.z_encoder),
    }
    print('parameters (M):', {k: round(v, 3) for k, v in counts.items()})
    reference = dict(region_generators=15.9, discriminator=38.4, z_encoder=38.5)
    for name, expected in reference.items():
        assert abs(counts[name] - expected) / expected < 0.05, (name, counts)
    assert counts['mask_net'] < 2.0

