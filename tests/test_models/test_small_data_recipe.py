"""Tests of the small-data recipe: D's augmentation, mask priors,
consistency and the EMA of the weights."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, HOOKS, MODELS

import mmseg_redo  # noqa: F401
from mmseg_redo.models.diff_augment import DiffAugment
from mmseg_redo.models.equivariance import (mask_equivariance_loss,
                                            random_crop_flip, warp)
from mmseg_redo.models.redo import mask_consistency_loss, mask_prior_losses
from conftest import FLOWERS17, batch, build_model, tiny_cfg

RECIPE = 'configs/redo/redo_flowers17_small_data_cpu.py'


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def images(num: int = 6, size: int = 16) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(num, 3, size, size) * 2 - 1


def test_each_operation_changes_images_and_passes_gradients():
    x = images().requires_grad_()
    for op in ('color', 'translation', 'cutout'):
        torch.manual_seed(1)
        out = DiffAugment(policy=(op, ))(x)
        assert out.shape == x.shape
        assert not torch.allclose(out, x), op
        out.sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0, op
        x.grad = None


def test_translation_moves_whole_pixels_and_fills_with_zero():
    aug = DiffAugment(policy=('translation', ), translation_ratio=0.25)
    x = images(8, 16)
    torch.manual_seed(3)
    out = aug(x)
    for src, dst in zip(x, out):
        found = False
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                shifted = torch.zeros_like(src)
                ys, yd = max(0, dy), max(0, -dy)
                xs, xd = max(0, dx), max(0, -dx)
                shifted[:, ys:16 - yd, xs:16 - xd] = \
                    src[:, yd:16 - ys, xd:16 - xs]
                found |= torch.equal(shifted, dst)
        assert found


def test_cutout_zeroes_one_square_of_the_given_side():
    aug = DiffAugment(policy=('cutout', ), cutout_ratio=0.5)
    x = images(8, 16).abs() + 0.1  # no zero pixel before the cutout
    torch.manual_seed(2)
    zeroed = (aug(x) == 0).all(dim=1)
    for z in zeroed:
        rows, cols = z.any(1).nonzero(), z.any(0).nonzero()
        assert 1 <= len(rows) <= 8 and 1 <= len(cols) <= 8
        # A full rectangle (clipped by the border), nothing else.
        assert z.sum() == len(rows) * len(cols)


def test_probability_zero_is_the_identity_and_one_always_applies():
    x = images()
    assert torch.equal(DiffAugment(p=0.0)(x), x)
    torch.manual_seed(0)
    out = DiffAugment(policy=('color', ), p=1.0)(x)
    assert all(not torch.allclose(a, b) for a, b in zip(out, x))


def test_adaptive_probability_rises_when_d_is_sure_and_falls_otherwise():
    aug = DiffAugment(
        p=0.0, adaptive=dict(target=0.6, interval=2, speed_images=40))
    sure = torch.ones(10)  # sign = +1 > 0.6: D overfits the reals
    for _ in range(4):
        aug.update(sure)
    # Two adjustments of 20 images each, at 40 images from 0 to 1.
    assert aug.p.item() == pytest.approx(1.0)
    unsure = -torch.ones(10)
    aug.update(unsure)
    assert aug.p.item() == pytest.approx(1.0)  # not yet an interval
    aug.update(unsure)
    assert aug.p.item() == pytest.approx(0.5)
    for _ in range(10):
        aug.update(unsure)
    assert aug.p.item() == 0.0  # clamped
    assert 'p' in aug.state_dict()


def test_fixed_probability_is_not_adapted():
    aug = DiffAugment(p=0.3)
    for _ in range(10):
        aug.update(torch.ones(8))
    assert aug.p.item() == pytest.approx(0.3)


def test_unknown_operation_is_refused():
    with pytest.raises(ValueError, match='unknown operations'):
        DiffAugment(policy=('colour', ))


def test_mask_priors_match_their_definitions():
    masks = torch.zeros(2, 2, 4, 4)
    masks[:, 0] = 1.0  # region 1 is empty in both images
    masks[1, :, 0, 0] = 0.5  # one undecided pixel
    losses = mask_prior_losses(
        masks, min_area=0.05, area_weight=100.0, binarization_weight=2.0)
    # Areas: image 0 (1, 0); image 1 (15.5/16, 0.5/16).
    expected_area = 100 * (0 + 0.05 + 0 + (0.05 - 0.5 / 16)) / 4
    assert losses['loss_area'].item() == pytest.approx(expected_area)
    # min(m, 1-m) is 0.5 at the undecided pixel of both regions only.
    assert losses['loss_binary'].item() == pytest.approx(2.0 * 1.0 / 64)
    assert 'loss_border' not in losses


def test_border_prior_makes_region_0_the_background():
    """The mean mass of every other region on the 1/16 border band."""
    masks = torch.zeros(1, 2, 32, 32)
    masks[:, 0] = 1.0
    masks[:, :, 8:24, 8:24] = torch.tensor([0.0, 1.0]).view(1, 2, 1, 1)
    losses = mask_prior_losses(masks, 0.05, 0.0, 0.0, border_weight=3.0)
    assert losses['loss_border'].item() == 0  # the object stays inside
    masks[:, :, :, :2] = torch.tensor([0.0, 1.0]).view(1, 2, 1, 1)
    band = 32 * 32 - 28 * 28  # two pixels wide
    losses = mask_prior_losses(masks, 0.05, 0.0, 0.0, border_weight=3.0)
    # The left two columns (64 pixels) of the band are the object's.
    assert losses['loss_border'].item() == pytest.approx(3.0 * 64 / band)


def test_consistency_is_zero_for_equal_masks_and_only_pulls_composites():
    masks = torch.rand(2, 2, 4, 4, requires_grad=True)
    same = masks.detach().unsqueeze(1).expand(2, 2, 2, 4, 4).clone()
    assert mask_consistency_loss(masks, same, 3.0)['loss_consistency'] == 0
    other = (same + 0.25).requires_grad_()
    loss = mask_consistency_loss(masks, other, 3.0)['loss_consistency']
    assert loss.item() == pytest.approx(0.75)
    loss.backward()
    assert masks.grad is None and other.grad is not None


def test_crop_flip_maps_stay_inside_the_image_and_flip_half_the_time():
    torch.manual_seed(0)
    theta = random_crop_flip(2000, 0.75, torch.device('cpu'))
    scale = theta[:, 1, 1]
    assert ((scale >= 0.75) & (scale <= 1)).all()
    assert (theta[:, 0, 0].abs() == scale).all()
    # Every sampled point is inside [-1, 1]: |shift| + scale <= 1.
    assert (theta[:, :, 2].abs() <= (1 - scale).unsqueeze(1) + 1e-6).all()
    flipped = (theta[:, 0, 0] < 0).float().mean().item()
    assert 0.45 < flipped < 0.55
    # A pure flip mirrors the image.
    x = torch.rand(1, 3, 8, 8)
    mirror = torch.tensor([[[-1.0, 0, 0], [0, 1, 0]]])
    torch.testing.assert_close(warp(x, mirror), x.flip(-1))


class _ColumnMasks(torch.nn.Module):
    """A 'mask net' that splits every image at a fixed column."""

    def forward(self, x):
        left = (torch.arange(x.size(-1)) < x.size(-1) // 2).float()
        left = left.expand(x.size(0), 1, *x.shape[-2:])
        return torch.cat([left, 1 - left], dim=1)


def test_equivariance_is_zero_for_masks_that_move_with_the_photo():
    photos = images(4, 16)
    identity = torch.nn.Identity()  # "masks" = the photo's own channels
    loss = mask_equivariance_loss(
        identity, photos, photos, 2.0, min_scale=0.5, color=False)
    assert loss['loss_equivariance'].item() == pytest.approx(0, abs=1e-6)
    # Masks fixed to the frame (a colour-blind, shape-blind net) do not
    # follow crops and flips, and are penalised.
    net = _ColumnMasks()
    torch.manual_seed(1)
    loss = mask_equivariance_loss(net, photos, net(photos), 2.0)
    assert loss['loss_equivariance'].item() > 0.1
    # Both the photo's masks and the crop's receive gradient.
    cfg = tiny_cfg()
    model = build_model(cfg)
    masks = model.mask_net(photos.repeat(1, 1, 2, 2))
    masks.retain_grad()
    mask_equivariance_loss(model.mask_net, photos.repeat(1, 1, 2, 2), masks,
                           1.0)['loss_equivariance'].backward()
    assert masks.grad.abs().sum() > 0


def test_recipe_train_step_logs_every_term_and_feeds_the_controller():
    cfg = tiny_cfg()
    cfg.model.augment = dict(
        type='DiffAugment', p=0.0,
        adaptive=dict(target=-2.0, interval=1, speed_images=4))
    cfg.model.mask_priors = dict(
        min_area=0.05, area_weight=100.0, binarization_weight=12.5,
        binarization_ramp_iters=100)
    cfg.model.consistency_weight = 1.0
    cfg.model.equivariance = dict(weight=1.0)
    model = build_model(cfg)
    wrappers = build_optim_wrapper(model, cfg.optim_wrapper)
    MessageHub.get_current_instance().update_info('iter', 50)
    log = model.train_step(batch(8), wrappers)
    assert {'loss_gan', 'loss_z', 'loss_area', 'loss_binary',
            'loss_consistency', 'loss_equivariance', 'aug_p'} <= set(log)
    # D's outputs on 4 real images, sign > -2 always: p rises by 4/4.
    assert log['aug_p'].item() == pytest.approx(1.0)
    masks = model.mask_net(model.data_preprocessor(batch(8), True)
                           ['inputs'][:4]).detach()
    # Half-way through the ramp: half the binarisation weight (the masks
    # moved by one step since, so the check is loose).
    assert log['loss_binary'].item() == pytest.approx(
        6.25 * torch.minimum(masks, 1 - masks).mean().item(), rel=0.2)
    MessageHub.get_current_instance().update_info('iter', 0)


def test_priors_reach_only_the_mask_net():
    cfg = tiny_cfg()
    cfg.model.mask_priors = dict(min_area=0.6, area_weight=100.0)
    model = build_model(cfg)
    masks = model.mask_net(torch.rand(2, 3, 32, 32) * 2 - 1)
    loss = model._mask_prior_losses(masks)['loss_area']
    assert loss > 0  # a region below 60% of the image
    loss.backward()
    assert all(p.grad is None for name in ('region_generators',
                                           'discriminator', 'z_encoder')
               for p in getattr(model, name).parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.mask_net.parameters())


def test_reference_model_has_no_recipe_term():
    cfg = Config.fromfile('configs/redo/redo_flowers17_cpu.py')
    model = MODELS.build(cfg.model)
    assert model.augment is None and model.mask_priors is None
    assert model.consistency_weight == 0 and model.equivariance is None


def test_scoring_at_128_feeds_the_network_64_and_keeps_the_mask_128():
    if not osp.isfile(osp.join(FLOWERS17, 'test.txt')):
        pytest.skip(f'Flowers-17 not found at {FLOWERS17} (../shared/data '
                    'beside the repository)')
    cfg = Config.fromfile(
        'configs/redo/redo_flowers17_small_data_cpu_test128.py')
    cfg.test_dataloader.dataset.data_root = FLOWERS17
    sample = DATASETS.build(cfg.test_dataloader.dataset)[0]
    assert tuple(sample['inputs'].shape) == (3, 64, 64)
    data_sample = sample['data_samples']
    assert tuple(data_sample.gt_sem_seg.shape) == (128, 128)
    assert tuple(data_sample.ori_shape) == (128, 128)
    # The filter brings the mask back to 128, guided by the network's
    # input (the photo as guide scored lower on val).
    assert 'guide_img' not in data_sample
    assert cfg.model.test_cfg.guided_filter is not None


def test_recipe_config_averages_weights_before_choosing_the_object():
    cfg = Config.fromfile(RECIPE)
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert hooks.index('ReDOEMAHook') < hooks.index('MaskAssignmentHook')
    ema = cfg.custom_hooks[hooks.index('ReDOEMAHook')]
    # Hooks of equal priority run in list order; a higher one runs first.
    assert ema['priority'] == 'HIGH'
    assert cfg.model.augment.type == 'DiffAugment'
    assert cfg.model.mask_priors.min_area == 0.05
    assert cfg.model.consistency_weight > 0
    # The binarisation prior made validation fall late: not in the recipe.
    assert not cfg.model.mask_priors.get('binarization_weight')


@HOOKS.register_module()
class SetObjectRegionForTest(Hook):
    """Make region 1 the object before each validation."""

    def before_val_epoch(self, runner) -> None:
        runner.model.object_index.fill_(1)


def test_ema_weights_are_the_checkpoints_state_dict_and_init_model_loads_them(
        tmp_path):
    from mmseg_redo.engine.hooks import ReDOEMAHook
    from mmseg.apis import init_model

    from conftest import build_tiny_redo_runner
    hooks = Config.fromfile(RECIPE).custom_hooks
    # Whatever the assignment found, region 1 is the object at the
    # validation: the averaged model's copy of the buffer (region 0, taken
    # at the last training iteration) must not reach the checkpoint.
    hooks.append(dict(type='SetObjectRegionForTest', priority='LOW'))
    runner = build_tiny_redo_runner(
        str(tmp_path), 'ema', cfg_options=dict(custom_hooks=hooks),
        max_iters=4, ckpt_interval=4, validate=True)
    runner.train()
    ema = next(h for h in runner.hooks if isinstance(h, ReDOEMAHook)).ema_model
    checkpoint_path = f'{runner.work_dir}/iter_4.pth'
    saved = torch.load(checkpoint_path, weights_only=False)
    key = next(k for k in saved['state_dict'] if k.startswith('mask_net.')
               and k.endswith('weight'))
    averaged = ema.module.state_dict()[key]
    raw = runner.model.state_dict()[key]
    assert not torch.equal(averaged, raw)  # the average lags the raw weights
    assert torch.equal(saved['state_dict'][key], averaged)
    assert torch.equal(saved['ema_state_dict']['module.' + key], raw)
    assert saved['state_dict']['object_index'] == 1
    config_path = str(tmp_path / 'ema_dumped.py')
    runner.cfg.dump(config_path)
    loaded = init_model(config_path, checkpoint_path, device='cpu')
    assert torch.equal(loaded.state_dict()[key], averaged)
