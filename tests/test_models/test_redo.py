"""Tests of ReDO's networks, composition, losses and training step."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import load_checkpoint, save_checkpoint
from mmseg.registry import MODELS

import mmseg_redo  # noqa: F401
from mmseg_redo.models.layers import SelfAttention, sn_conv
from mmseg_redo.models.redo import (GENERATOR_SIDE, generator_side_loss,
                                    hinge_discriminator_loss)
from mmseg_redo.utils import make_faithful
from conftest import batch, build_model, tiny_cfg

ALL_NETS = GENERATOR_SIDE + ('discriminator', )


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def count(module: torch.nn.Module) -> float:
    """Parameters in millions."""
    return sum(p.numel() for p in module.parameters()) / 1e6


def snapshot(model, name):
    return [p.detach().clone() for p in getattr(model, name).parameters()]


def changed(model, name, before) -> bool:
    return any(not torch.equal(p, q)
               for p, q in zip(getattr(model, name).parameters(), before))


@pytest.mark.slow
def test_flowers_parameter_counts_match_reference():
    """redo_flowers.py matches the reference's sizes within 5%."""
    model = build_model(Config.fromfile('configs/redo/redo_flowers.py'))
    counts = {name: count(getattr(model, name)) for name in ALL_NETS}
    print('parameters (M):', {k: round(v, 3) for k, v in counts.items()})
    reference = dict(region_generators=15.9, discriminator=38.4, z_encoder=38.5)
    for name, expected in reference.items():
        assert abs(counts[name] - expected) / expected < 0.05, (name, counts)
    assert counts['mask_net'] < 2.0
    assert len(model.region_generators.generators) == 2
    g0, g1 = model.region_generators.generators
    assert all(p.data_ptr() != q.data_ptr()
               for p, q in zip(g0.parameters(), g1.parameters()))


@pytest.mark.parametrize('num_regions', [2, 3])
def test_masks_are_a_partition(num_regions):
    model = build_model(tiny_cfg(num_regions))
    masks = model.mask_net(torch.randn(3, 3, 32, 32))
    assert masks.shape == (3, num_regions, 32, 32)
    assert (masks >= 0).all()
    torch.testing.assert_close(masks.sum(1), torch.ones(3, 32, 32))
    # Batch 1 in training mode works (PSP's 1x1 pooled maps use GN).
    model.train()
    assert model.mask_net(torch.randn(1, 3, 32, 32)).shape[0] == 1


def test_composite_keeps_the_image_outside_the_redrawn_region():
    model = build_model(tiny_cfg(3))
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    labels = torch.randint(0, 3, (2, 32, 32))
    masks = torch.nn.functional.one_hot(labels, 3).permute(0, 3, 1, 2).float()
    composites, painted = model.redraw(images, masks, model.sample_z(2))
    for k in range(3):
        outside = (labels != k).unsqueeze(1).expand_as(images)
        assert torch.equal(composites[:, k][outside], images[outside])
        assert (painted[:, k][outside] == 0).all()
        inside = ~outside
        assert torch.equal(composites[:, k][inside], painted[:, k][inside])
        assert not torch.equal(composites[:, k][inside], images[inside])


def test_losses_match_their_definitions():
    d_real = torch.tensor([2.0, 0.5, -1.0])
    d_fake = torch.tensor([-2.0, 0.0, 3.0, -0.5])
    d = hinge_discriminator_loss(d_real, d_fake)
    # relu(1 - [2, .5, -1]) = [0, .5, 2]; relu(1 + [-2, 0, 3, -.5]) = [0, 1, 4, .5]
    assert d['loss_d_real'].item() == pytest.approx(2.5 / 3)
    assert d['loss_d_fake'].item() == pytest.approx(5.5 / 4)
    z = torch.zeros(1, 2, 2)
    z_pred = torch.tensor([[[1.0, -1.0], [2.0, 0.0]]])
    g = generator_side_loss(d_fake, z, z_pred, lambda_z=5.0)
    assert g['loss_gan'].item() == pytest.approx(-0.5 / 4)
    assert g['loss_z'].item() == pytest.approx(5.0 * 6.0 / 4)


def test_each_update_moves_only_its_own_networks():
    """G-side step leaves D alone; D step leaves the G side alone."""
    cfg = tiny_cfg()
    model = build_model(cfg)
    wrappers = build_optim_wrapper(model, cfg.optim_wrapper)
    start = {name: snapshot(model, name) for name in ALL_NETS}
    after_g_side = {}
    d_update = wrappers['discriminator'].update_params

    def record_then_update(loss, **kwargs):
        after_g_side.update(
            {name: snapshot(model, name) for name in ALL_NETS})
        # No gradient of the G-side loss may reach D, and none of D's loss
        # may be left on the G side for its next step.
        for name in GENERATOR_SIDE:
            assert all(p.grad is None or not p.grad.any()
                       for p in getattr(model, name).parameters())
        return d_update(loss, **kwargs)

    wrappers['discriminator'].update_params = record_then_update
    log = model.train_step(batch(8), wrappers)
    # Nor may the discriminator's loss leave gradients on the G side, where
    # the next generator step would apply them.
    for name in GENERATOR_SIDE:
        assert all(p.grad is None or not p.grad.any()
                   for p in getattr(model, name).parameters()), name
    assert {'loss_gan', 'loss_z', 'loss_d_real', 'loss_d_fake', 'area_0',
            'area_1'} <= set(log)
    for name in GENERATOR_SIDE:
        params = list(getattr(model, name).parameters())
        assert any(not torch.equal(p, q)
                   for p, q in zip(after_g_side[name], start[name])), name
        assert all(torch.equal(p, q)
                   for p, q in zip(params, after_g_side[name])), name
    assert all(
        torch.equal(p, q)
        for p, q in zip(after_g_side['discriminator'], start['discriminator']))
    assert changed(model, 'discriminator', after_g_side['discriminator'])


def test_three_regions_train():
    cfg = tiny_cfg(3)
    model = build_model(cfg)
    log = model.train_step(batch(4), build_optim_wrapper(model, cfg.optim_wrapper))
    assert 'area_2' in log
    assert all(torch.isfinite(v) for v in log.values())


def test_odd_batch_is_refused_with_a_clear_error():
    cfg = tiny_cfg()
    model = build_model(cfg)
    with pytest.raises(ValueError, match='even'):
        model.train_step(batch(3), build_optim_wrapper(model, cfg.optim_wrapper))


def test_predict_uses_the_stored_object_region():
    model = build_model(tiny_cfg()).eval()
    data = model.data_preprocessor(batch(2), False)
    samples = copy.deepcopy(data['data_samples'])
    for sample in samples:
        sample.set_metainfo(dict(ori_shape=(48, 40)))
    model.object_index.fill_(0)
    first = model.predict(data['inputs'], copy.deepcopy(samples))
    model.object_index.fill_(1)
    second = model.predict(data['inputs'], samples)
    masks = model.mask_net(data['inputs'])
    for a, b in zip(first, second):
        assert a.pred_sem_seg.shape == (48, 40)
        assert a.seg_logits.data.shape == (2, 48, 40)
        # With two regions, swapping the object region complements the mask
        # (up to pixels exactly at probability 0.5).
        agree = (a.pred_sem_seg.data == b.pred_sem_seg.data).float().mean()
        assert agree < 0.01
    # At the input size, the prediction is region 1's mask at 0.5.
    model.object_index.fill_(1)
    same_size = model.predict(data['inputs'])
    assert torch.equal(same_size[0].pred_sem_seg.data[0],
                       (masks[0, 1] > 0.5).long())


def test_checkpoint_round_trip(tmp_path):
    """Weights and the object region survive save/load (weights_only)."""
    cfg = tiny_cfg()
    model = build_model(cfg).eval()
    model.object_index.fill_(1)
    path = str(tmp_path / 'redo.pth')
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(dataset_meta=dict(
                             classes=('background', 'object')))), path)
    torch.manual_seed(123)
    other = MODELS.build(cfg.model).eval()
    other.init_weights()
    load_checkpoint(other, path, map_location='cpu', strict=True)
    assert int(other.object_index) == 1
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(other.mask_net(x), model.mask_net(x))
    z = model.sample_z(2)
    masks = model.mask_net(x)
    torch.testing.assert_close(other.redraw(x, masks, z)[0],
                               model.redraw(x, masks, z)[0])
    # The checkpoint is loadable with torch's safe unpickler.
    torch.load(path, weights_only=True)


def test_faithful_switches_off_every_speed_setting():
    """`--faithful` gives the reference's step: no autocast, layout change,
    compile, composite reuse or fused Adam; the learning rates stay."""
    cfg = tiny_cfg()
    cfg.model.reuse_composites = True
    mask_lr = cfg.optim_wrapper.generator.modules.mask_net.lr
    mask_group = list(cfg.optim_wrapper.generator.modules).index('mask_net')
    assert cfg.model.fast_path and all(
        w.optimizer.fused for w in cfg.optim_wrapper.values()
        if isinstance(w, dict) and 'optimizer' in w)
    make_faithful(cfg)
    assert cfg.model.fast_path is None and not cfg.model.reuse_composites
    model = build_model(cfg)
    wrappers = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    for name in ('generator', 'discriminator'):
        for group in wrappers[name].optimizer.param_groups:
            assert not group['fused'], name
    assert wrappers['generator'].optimizer.param_groups[mask_group][
        'lr'] == mask_lr


def test_self_attention_is_the_reference_formula():
    """The fused attention computes softmax over the pooled (key) axis of
    key^T query, then value @ attention, as the reference writes it."""
    torch.manual_seed(0)
    layer = SelfAttention(16).eval()
    layer.gamma.data.fill_(0.7)
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        query = layer.query(x).flatten(2)
        key = F.max_pool2d(layer.key(x), 2).flatten(2)
        value = F.max_pool2d(layer.value(x), 2).flatten(2)
        attention = torch.softmax(key.transpose(1, 2) @ query, dim=1)
        expected = x + 0.7 * layer.out((value @ attention).view(2, 8, 8, 8))
        torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-5)


def test_channels_last_spectral_norm_is_torchs_without_weight_copies():
    """In NHWC layout, the spectral-norm conv gives torch's outputs, weight
    gradients and power-iteration vectors, and never copies its weight."""
    from torch.nn.utils.parametrizations import spectral_norm
    torch.manual_seed(0)
    expected = spectral_norm(torch.nn.Conv2d(16, 32, 3, padding=1))
    conv = sn_conv(16, 32, 3)
    conv.load_state_dict(expected.state_dict())
    conv.to(memory_format=torch.channels_last)
    x = torch.randn(2, 16, 8, 8)
    x_nhwc = x.contiguous(memory_format=torch.channels_last)
    for _ in range(3):  # three power iterations, gradients accumulated
        want = expected(x)
        want.square().sum().backward()
        with torch.profiler.profile(record_shapes=True) as prof:
            out = conv(x_nhwc)
        out.square().sum().backward()
    copied = [
        e.input_shapes for e in prof.key_averages(group_by_input_shape=True)
        if e.key == 'aten::copy_'
    ]
    assert [32, 16, 3, 3] not in (shapes[0] for shapes in copied if shapes)
    torch.testing.assert_close(out, want, rtol=0, atol=1e-5)
    ours = conv.parametrizations.weight
    theirs = expected.parametrizations.weight
    # Same sums in another order: rounding differs by ~1e-6 of the scale.
    scale = theirs.original.grad.abs().max().item()
    torch.testing.assert_close(
        ours.original.grad, theirs.original.grad, rtol=0, atol=1e-5 * scale)
    torch.testing.assert_close(ours[0]._u, theirs[0]._u)
    torch.testing.assert_close(ours[0]._v, theirs[0]._v)


def test_generator_wrapper_has_one_group_per_network():
    """The generator side is one optimizer: a parameter group per network,
    each with the config's learning rate (the mask net's own)."""
    cfg = tiny_cfg()
    model = build_model(cfg)
    wrappers = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = wrappers['generator'].optimizer.param_groups
    modules = cfg.optim_wrapper.generator.modules
    assert len(groups) == len(modules) == len(GENERATOR_SIDE)
    for group, (name, settings) in zip(groups, modules.items()):
        params = list(getattr(model, name).parameters())
        assert [id(p) for p in group['params']] == [id(p) for p in params]
        expected = settings.get('lr',
                                cfg.optim_wrapper.generator.optimizer.lr)
        assert group['lr'] == expected, name


def test_train_step_goes_through_the_wrappers_accumulation():
    """With accumulative_counts=2 (mmengine's gradient accumulation) the
    first train step updates nothing, the second updates both sides."""
    cfg = tiny_cfg()
    for name in ('generator', 'discriminator'):
        cfg.optim_wrapper[name].accumulative_counts = 2
    model = build_model(cfg)
    wrappers = build_optim_wrapper(model, cfg.optim_wrapper)
    start = {name: snapshot(model, name) for name in ALL_NETS}
    model.train_step(batch(4), wrappers)
    assert not any(changed(model, name, start[name]) for name in ALL_NETS)
    model.train_step(batch(4), wrappers)
    assert all(changed(model, name, start[name]) for name in ALL_NETS)


def test_mask_net_warm_start_from_an_mmseg_encoder_decoder(tmp_path):
    """mask_net_init takes an EncoderDecoder's backbone and decode head.

    The warm start's EncoderDecoder is the one of
    configs/redo/redo_masknet_warm_start_cpu.py, built around the toy
    mask net; only the mask net leaves the orthogonal init.
    """
    init_default_scope('mmseg')
    cfg = tiny_cfg()
    warm_cfg = Config.fromfile('configs/redo/redo_masknet_warm_start_cpu.py')
    warm_cfg.model.backbone = cfg.model.mask_net.encoder
    warm_cfg.model.decode_head.update(cfg.model.mask_net.head)
    torch.manual_seed(7)
    supervised = MODELS.build(warm_cfg.model)
    supervised.init_weights()
    path = str(tmp_path / 'warm.pth')
    save_checkpoint(dict(state_dict=supervised.state_dict()), path)

    cold = build_model(cfg)
    cfg.model.mask_net_init = path
    warm = build_model(cfg)  # same seed as cold: only mask_net_init differs
    x = torch.randn(2, 3, 32, 32)
    logits = supervised.decode_head(supervised.backbone(x))
    torch.testing.assert_close(warm.mask_net(x), torch.softmax(logits, 1))
    assert not torch.allclose(warm.mask_net(x), cold.mask_net(x))
    torch.testing.assert_close(
        warm.discriminator.state_dict(), cold.discriminator.state_dict())

    # A ReDO checkpoint works too; a mask net of another width is refused
    # with the file's name.
    redo_path = str(tmp_path / 'redo.pth')
    save_checkpoint(dict(state_dict=warm.state_dict()), redo_path)
    cfg.model.mask_net_init = redo_path
    torch.testing.assert_close(build_model(cfg).mask_net(x), warm.mask_net(x))
    cfg.model.mask_net.encoder.channels *= 2
    cfg.model.mask_net.head.in_channels *= 2
    with pytest.raises(RuntimeError, match='redo.pth.*shapes differ'):
        build_model(cfg)
