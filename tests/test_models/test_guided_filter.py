"""The test-time guided filter: the filter itself, its transforms, and its
use through the config by mmseg's inference APIs and test step."""
import mmcv
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import save_untrained_checkpoint, write_tiny_redo_config
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.apis import MMSegInferencer, inference_model, init_model
from mmseg.registry import DATASETS, TRANSFORMS

import mmseg_redo  # noqa: F401
from mmseg_redo.datasets.base import OBJECT_METAINFO
from mmseg_redo.models.guided_filter import (box_filter, guided_filter,
                                             rgb_to_guide, solve_symmetric)

GUIDED = dict(radius=2, eps=1e-3, guide_channels='luminance')


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def step_edge(size: int, noise: float = 0.0) -> torch.Tensor:
    """(1, 1, size, size): 0.2 left of the middle column, 0.8 from it on."""
    img = torch.full((1, 1, size, size), 0.2)
    img[..., size // 2:] = 0.8
    return img + noise * torch.randn(img.shape)


def assert_follows_the_edge(mask: torch.Tensor, sharp: torch.Tensor,
                            blurred: torch.Tensor) -> None:
    """``mask`` (filtered ``blurred``) has ``sharp``'s edge where
    ``blurred`` had it off by some columns, and a step there."""
    middle = sharp.size(-1) // 2

    def jump(x):
        return (x[..., middle] - x[..., middle - 1]).mean().item()

    assert ((blurred > 0.5) != sharp).any()
    assert torch.equal(mask > 0.5, sharp > 0.5)
    assert jump(mask) > 0.4 > 0.2 > jump(blurred)


# ---------------------------------------------------------------------------
# The filter
# ---------------------------------------------------------------------------
def test_box_filter_is_the_mean_of_the_clipped_window():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 7, 9)
    out = box_filter(x, 2)
    assert out.shape == x.shape
    for i, j in [(0, 0), (3, 4), (6, 8), (1, 7)]:
        window = x[..., max(i - 2, 0):i + 3, max(j - 2, 0):j + 3]
        torch.testing.assert_close(out[..., i, j], window.mean(dim=(-2, -1)))


def test_filter_moves_a_blurred_mask_to_the_guide_edge():
    torch.manual_seed(0)
    guide = step_edge(32, noise=0.01)
    sharp = (step_edge(32) > 0.5).float()
    # Two columns off and blurred, as a low-resolution prediction can be.
    blurred = box_filter(sharp.roll(2, dims=-1), 3)
    out = guided_filter(guide, blurred, radius=4, eps=1e-3)
    assert_follows_the_edge(out, sharp, blurred)


def test_box_filter_with_a_radius_beyond_the_image_is_the_image_mean():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 5, 6)
    torch.testing.assert_close(
        box_filter(x, 40), x.mean(dim=(-2, -1), keepdim=True).expand_as(x))


@pytest.mark.parametrize('channels', [1, 3])
def test_closed_form_solve_matches_lapack(channels):
    torch.manual_seed(0)
    factors = torch.randn(2, channels, channels, 4, 5, dtype=torch.float64)
    matrices = torch.einsum('bijhw,bkjhw->bikhw', factors, factors)
    rhs = torch.randn(2, channels, 3, 4, 5, dtype=torch.float64)
    eye = torch.eye(channels, dtype=torch.float64)
    expected = torch.linalg.solve(
        (matrices + 1e-3 * eye.view(1, channels, channels, 1, 1)).permute(
            0, 3, 4, 1, 2), rhs.permute(0, 3, 4, 1, 2)).permute(0, 3, 4, 1, 2)
    torch.testing.assert_close(solve_symmetric(matrices, rhs, 1e-3), expected)


def test_huge_eps_is_a_double_box_blur_not_the_identity():
    """a -> 0 and b -> mean(p): q = box(box(p)), whatever the guide."""
    torch.manual_seed(0)
    guide, src = torch.rand(1, 1, 12, 12), torch.rand(1, 1, 12, 12)
    out = guided_filter(guide, src, radius=2, eps=1e8)
    torch.testing.assert_close(
        out, box_filter(box_filter(src, 2), 2), atol=1e-5, rtol=0)
    assert not torch.allclose(out, src, atol=0.05)


def test_identity_cases():
    """Radius 0 (one-pixel windows), and the guide itself with tiny eps."""
    torch.manual_seed(0)
    guide, src = torch.rand(1, 1, 10, 10), torch.rand(1, 1, 10, 10)
    torch.testing.assert_close(
        guided_filter(guide, src, radius=0, eps=1e-3), src)
    torch.testing.assert_close(
        guided_filter(src, src, radius=3, eps=1e-8), src, atol=1e-3,
        rtol=0)


def test_batches_and_colour_guides_filter_each_image_alone():
    torch.manual_seed(0)
    guide, src = torch.rand(3, 3, 12, 10), torch.rand(3, 2, 12, 10)
    out = guided_filter(guide, src, radius=2, eps=1e-2)
    assert out.shape == (3, 2, 12, 10)
    for i in range(3):
        torch.testing.assert_close(
            out[i:i + 1],
            guided_filter(guide[i:i + 1], src[i:i + 1], radius=2,
                          eps=1e-2))


def test_fast_filter_brings_a_low_res_mask_up_with_the_guide_edges():
    torch.manual_seed(0)
    guide = step_edge(64, noise=0.01)
    sharp = (step_edge(64) > 0.5).float()
    # A blurred 16x16 mask one low-resolution pixel off, upsampled.
    low = box_filter(
        F.interpolate(sharp.roll(4, dims=-1), size=(16, 16), mode='area'), 1)
    upsampled = F.interpolate(
        low, size=(64, 64), mode='bilinear', align_corners=False)
    out = guided_filter(
        guide, upsampled, radius=2, eps=1e-3, lowres_size=(16, 16))
    assert out.shape == (1, 1, 64, 64)
    assert_follows_the_edge(out, sharp, upsampled)
    # Fitting at the full size is the plain filter.
    torch.testing.assert_close(
        guided_filter(guide, upsampled, 2, 1e-3, lowres_size=(64, 64)),
        guided_filter(guide, upsampled, 2, 1e-3))


def test_luminance_guide_weights_and_unknown_guides():
    rgb = torch.eye(3).view(1, 3, 3, 1).expand(1, 3, 3, 2)  # R, G, B rows
    luma = rgb_to_guide(rgb, 'luminance')
    torch.testing.assert_close(luma[0, 0, :, 0],
                               torch.tensor([0.299, 0.587, 0.114]))
    assert rgb_to_guide(rgb, 'rgb') is rgb
    with pytest.raises(ValueError, match='luminance'):
        rgb_to_guide(rgb, 'lab')


# ---------------------------------------------------------------------------
# Transforms
# ---------------------------------------------------------------------------
def test_guide_and_image_only_resize_keep_the_scoring_size():
    img = np.random.default_rng(0).integers(0, 255, (32, 48, 3), np.uint8)
    gt = np.zeros((32, 48), np.uint8)
    results = dict(
        img=img,
        img_shape=(32, 48),
        ori_shape=(32, 48),
        gt_seg_map=gt,
        seg_fields=['gt_seg_map'])
    results = TRANSFORMS.build(dict(type='KeepGuideImage'))(results)
    results = TRANSFORMS.build(dict(type='ResizeImageShorterSide',
                                    size=16))(results)
    assert results['img'].shape == (16, 24, 3)
    assert tuple(results['img_shape']) == (16, 24)
    assert results['gt_seg_map'].shape == (32, 48)
    assert results['seg_fields'] == ['gt_seg_map']
    assert results['guide_img'] is img
    # Larger photos keep a guide that fits in max_side x max_side.
    small = TRANSFORMS.build(dict(type='KeepGuideImage', max_side=24))(
        dict(img=img))
    assert small['guide_img'].shape == (16, 24, 3)


# ---------------------------------------------------------------------------
# Through the config: inference_model, MMSegInferencer, the test step
# ---------------------------------------------------------------------------
#: Photos, with (and without) the photo kept as the guide.
PIPELINES = '''
guide_meta_keys = ('img_path', 'ori_shape', 'img_shape', 'pad_shape',
                   'scale_factor', 'flip', 'flip_direction', 'guide_img')
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow',
         color_type='color_ignore_orientation'),
    dict(type='KeepGuideImage'),
    dict(type='ResizeShorterSide', size=img_size),
    dict(type='PackSegInputs', meta_keys=guide_meta_keys),
]
unguided_pipeline = [test_pipeline[0], test_pipeline[2],
                     dict(type='PackSegInputs')]
# The 16x16 network scored at 32x32: image resized alone, guide and mask
# kept at the scoring size.
scoring_pipeline = [
    dict(type='LoadSyntheticSample', with_seg=True),
    dict(type='Resize', scale=(32, 32)),
    dict(type='ResetOriShape'),
    dict(type='KeepGuideImage'),
    dict(type='ResizeImageShorterSide', size=img_size),
    dict(type='PackSegInputs', meta_keys=guide_meta_keys),
]
# Scored at the input size, with and without the guide kept.
kept_guide_pipeline = [
    dict(type='LoadSyntheticSample', with_seg=True),
    dict(type='KeepGuideImage'),
    dict(type='PackSegInputs', meta_keys=guide_meta_keys),
]
'''


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """Config and checkpoint of an untrained tiny ReDO (16x16)."""
    work_dir = tmp_path_factory.mktemp('tiny_guided')
    config = write_tiny_redo_config(str(work_dir), extra=PIPELINES)
    init_default_scope('mmseg')  # before the function-scoped fixture
    checkpoint = save_untrained_checkpoint(config, str(work_dir / 'tiny.pth'))
    return config, checkpoint


@pytest.fixture(scope='module')
def photo(tmp_path_factory):
    """A 37x23 (WxH) photo: a blue square with a soft-edged inner disc."""
    img = np.full((23, 37, 3), 40, np.uint8)
    img[5:18, 10:28] = (240, 120, 30)
    yy, xx = np.mgrid[:23, :37]
    img[(yy - 11)**2 + (xx - 19)**2 < 16] = (20, 200, 250)
    path = str(tmp_path_factory.mktemp('photos') / 'photo.png')
    mmcv.imwrite(img, path)
    return path


def guided_model(config: str, checkpoint: str, **test_cfg):
    return init_model(
        config,
        checkpoint,
        device='cpu',
        cfg_options=dict(
            model=dict(test_cfg=dict(mode='whole', **test_cfg))))


def test_inference_model_filters_only_when_asked(tiny, photo):
    config, checkpoint = tiny
    plain = guided_model(config, checkpoint)
    reference = inference_model(plain, photo)
    # Keeping the guide changes nothing while the filter is off.
    plain.cfg.test_pipeline = plain.cfg.unguided_pipeline
    torch.testing.assert_close(
        inference_model(plain, photo).seg_logits.data,
        reference.seg_logits.data, atol=0, rtol=0)

    filtered = inference_model(
        guided_model(config, checkpoint, guided_filter=GUIDED), photo)
    assert filtered.pred_sem_seg.shape == (23, 37)
    assert filtered.seg_logits.shape == (23, 37)
    assert set(filtered.pred_sem_seg.data.unique().tolist()) <= {0, 1}
    probs = filtered.seg_logits.data.exp().sum(dim=0)
    torch.testing.assert_close(probs, torch.ones_like(probs))
    assert not torch.allclose(filtered.seg_logits.data,
                              reference.seg_logits.data, atol=1e-3)


def test_the_old_guide_key_still_works_with_a_warning(tiny, photo):
    """Configs saved before ``guide`` became ``guide_channels`` give the
    same masks, and a warning that names the new key."""
    config, checkpoint = tiny
    colour = dict(GUIDED, guide_channels='rgb')
    renamed = inference_model(
        guided_model(config, checkpoint, guided_filter=colour), photo)
    old = dict(radius=2, eps=1e-3, guide='rgb')
    model = guided_model(config, checkpoint, guided_filter=old)
    with pytest.warns(FutureWarning, match="guide_channels='rgb'"):
        result = inference_model(model, photo)
    torch.testing.assert_close(
        result.seg_logits.data, renamed.seg_logits.data, atol=0, rtol=0)
    luminance = inference_model(
        guided_model(config, checkpoint, guided_filter=GUIDED), photo)
    assert not torch.allclose(result.seg_logits.data,
                              luminance.seg_logits.data, atol=1e-3)


def test_without_a_kept_guide_the_network_input_guides(tiny, photo):
    config, checkpoint = tiny
    model = guided_model(config, checkpoint, guided_filter=GUIDED)
    with_photo = inference_model(model, photo)
    model.cfg.test_pipeline = model.cfg.unguided_pipeline
    with_input = inference_model(model, photo)
    assert with_input.pred_sem_seg.shape == (23, 37)
    assert not torch.allclose(with_input.seg_logits.data,
                              with_photo.seg_logits.data, atol=1e-3)


def test_mmseg_inferencer_uses_the_filter(tiny, photo):
    config, checkpoint = tiny
    outputs = {}
    for name, test_cfg in [('plain', {}), ('filtered', dict(
            guided_filter=GUIDED))]:
        cfg = Config.fromfile(config)
        cfg.model.test_cfg = dict(mode='whole', **test_cfg)
        cfg.test_dataloader.dataset.pipeline = cfg.test_pipeline
        inferencer = MMSegInferencer(
            cfg,
            weights=checkpoint,
            classes=OBJECT_METAINFO['classes'],
            palette=OBJECT_METAINFO['palette'],
            device='cpu')
        outputs[name] = inferencer(
            photo, return_datasamples=True).seg_logits.data
    assert outputs['filtered'].shape == (2, 23, 37)
    assert not torch.allclose(outputs['filtered'], outputs['plain'],
                              atol=1e-3)


def test_test_step_scores_above_the_input_size(tiny):
    """What tools/test.py runs: masks at the 32x32 ground truth from a
    16x16 input, filtered with the 32x32 guide."""
    config, checkpoint = tiny
    cfg = Config.fromfile(config)
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.pipeline = cfg.scoring_pipeline
    batch = pseudo_collate([DATASETS.build(dataset_cfg)[i] for i in range(2)])
    assert batch['inputs'][0].shape == (3, 16, 16)
    results = {}
    for name, test_cfg in [('plain', {}), ('filtered', dict(
            guided_filter=GUIDED))]:
        model = guided_model(config, checkpoint, **test_cfg)
        results[name] = model.test_step(batch)
    for plain, filtered in zip(results['plain'], results['filtered']):
        assert filtered.pred_sem_seg.shape == filtered.gt_sem_seg.shape
        assert filtered.gt_sem_seg.shape == (32, 32)
        assert not torch.allclose(filtered.seg_logits.data,
                                  plain.seg_logits.data, atol=1e-3)


def test_a_kept_guide_at_the_input_size_equals_the_input_guide(tiny):
    """Same pixels, same result: the kept guide (BGR uint8) and the network
    input (normalised RGB) reach the filter alike (luminance: the colour
    filter would not see a channel swap or a shift)."""
    config, checkpoint = tiny
    cfg = Config.fromfile(config)
    model = guided_model(config, checkpoint, guided_filter=GUIDED)
    outputs = []
    dataset_cfg = cfg.test_dataloader.dataset
    for pipeline in (cfg.kept_guide_pipeline, dataset_cfg.pipeline):
        dataset_cfg.pipeline = pipeline
        dataset = DATASETS.build(dataset_cfg)
        batch = pseudo_collate([dataset[i] for i in range(2)])
        outputs.append(model.test_step(batch))
    assert 'guide_img' in outputs[0][0].metainfo
    assert 'guide_img' not in outputs[1][0].metainfo
    for kept, fallback in zip(*outputs):
        torch.testing.assert_close(
            kept.seg_logits.data, fallback.seg_logits.data, atol=1e-4,
            rtol=0)
