"""Datasets, transforms and dataset configs, on tiny fixtures of each layout.

Every fixture is built in ``tmp_path`` with the official folder layout and a
few small images; expected masks are computed here independently (with
PIL) from the rule each dataset documents.
"""
import os.path as osp
import time
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import LoadImageFromFile
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from PIL import Image
from conftest import LFW, REPO_ROOT
from scipy import io as sio

from mmengine.registry import init_default_scope
from mmseg.models import SegDataPreProcessor
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import DATASETS, TRANSFORMS
from mmseg_redo.datasets import (CUBDataset, Flowers17Dataset,
                                 Flowers102Dataset, ImageFolderDataset,
                                 LFWDataset, LoadImageFromFileChecked,
                                 LoadObjectMask, LoadSyntheticSample,
                                 SyntheticObjectsDataset,
                                 render_synthetic_sample)
from mmseg_redo.evaluation import ReDOMetric

# Pipelines are built by mmengine's Compose, which finds mmseg's transforms
# through the default scope (the Runner sets it from the config).
init_default_scope('mmseg')

REPO = Path(REPO_ROOT)
CONFIGS = REPO / 'configs' / '_base_' / 'datasets'
# Loading without resizing, to compare masks pixel for pixel.
RAW_PIPELINE = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadObjectMask'),
    dict(type='PackSegInputs'),
]


def _save(path: Path, array: np.ndarray, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


def _photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def _infos(dataset) -> list:
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def _gt(packed: dict) -> np.ndarray:
    return packed['data_samples'].gt_sem_seg.data[0].numpy()


def _rgb(path: Path) -> np.ndarray:
    return np.array(Image.open(path).convert('RGB'))


# --------------------------------------------------------------------------
# Oxford Flowers-102
# --------------------------------------------------------------------------
def _make_flowers102(root: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(1, 7):
        _save(root / 'jpg' / f'image_{i:05d}.jpg', _photo(rng, 30, 40))
        seg = np.zeros((30, 40, 3), np.uint8)
        seg[...] = (0, 0, 254)  # the dataset's background blue
        seg[5:25, 8 + i:30] = (200, 120, 40)
        _save(root / 'segmim' / f'segmim_{i:05d}.jpg', seg, quality=95)
    sio.savemat(
        str(root / 'setid.mat'),
        dict(
            trnid=np.array([[1, 2]]),
            valid=np.array([[3, 4]]),
            tstid=np.array([[5, 6]])))


def test_flowers102_inverted_split_and_segmim_rule(tmp_path):
    _make_flowers102(tmp_path)
    names = {
        split: [
            osp.basename(d['img_path']) for d in _infos(
                Flowers102Dataset(split=split, data_root=str(tmp_path)))
        ]
        for split in ('train', 'val', 'test')
    }
    # ReDO trains on tstid and tests on trnid.
    assert names == dict(
        train=['image_00005.jpg', 'image_00006.jpg'],
        val=['image_00003.jpg', 'image_00004.jpg'],
        test=['image_00001.jpg', 'image_00002.jpg'])

    dataset = Flowers102Dataset(
        split='test', data_root=str(tmp_path), pipeline=RAW_PIPELINE)
    gt = _gt(dataset[0])
    seg = _rgb(tmp_path / 'segmim' / 'segmim_00001.jpg')
    expected = ~((seg[..., 0] == 0) | (seg[..., 1] == 0) |
                 (seg[..., 2] == 254))
    np.testing.assert_array_equal(gt, expected.astype(np.uint8))
    # The object drawn at rows 5-24, columns 9-29: its inside is object and
    # the blue away from it background (JPEG ringing only blurs the edge).
    assert gt[7:23, 11:28].all()
    assert not gt[:, :7].any() and not gt[:, 33:].any()


def test_flowers102_split_file_errors(tmp_path):
    _make_flowers102(tmp_path)
    sio.savemat(
        str(tmp_path / 'setid.mat'),
        dict(
            trnid=np.array([[1]]),
            valid=np.zeros((1, 0)),
            tstid=np.array([[5]])))
    with pytest.raises(ValueError, match="'valid' in .*setid.mat"):
        Flowers102Dataset(split='val', data_root=str(tmp_path))
    (tmp_path / 'setid.mat').unlink()
    with pytest.raises(FileNotFoundError, match='setid.mat does not exist'):
        Flowers102Dataset(data_root=str(tmp_path))


# --------------------------------------------------------------------------
# CUB-200-2011
# --------------------------------------------------------------------------
def _make_cub(root: Path) -> list:
    rng = np.random.default_rng(1)
    names = [
        '001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111.jpg',
        '001.Black_footed_Albatross/Black_Footed_Albatross_0002_55.jpg',
        '002.Laysan_Albatross/Laysan_Albatross_0001_545.jpg',
        '002.Laysan_Albatross/Laysan_Albatross_0002_1027.jpg',
    ]
    for num, name in enumerate(names):
        _save(root / 'images' / name, _photo(rng, 20, 24))
        soft = np.tile(np.arange(0, 240, 10, dtype=np.uint8), (20, 1))
        if num == 3:  # some CUB masks are RGB: the first channel counts
            soft = np.stack([soft, 255 - soft, 255 - soft], -1)
        _save(root / 'segmentations' / name.replace('.jpg', '.png'), soft)
    # images.txt and the split file listed in different orders: matching
    # must go by image id, not by line.
    (root / 'images.txt').write_text(''.join(f'{i + 1} {n}\n'
                                             for i, n in enumerate(names)))
    (root / 'train_val_test_split.txt').write_text('4 2\n1 0\n3 1\n2 0\n')
    return names


def test_cub_split_by_id_and_soft_mask(tmp_path):
    names = _make_cub(tmp_path)
    found = {
        split: [
            d['img_path']
            for d in _infos(CUBDataset(split=split, data_root=str(tmp_path)))
        ]
        for split in ('train', 'val', 'test')
    }
    root = str(tmp_path / 'images')
    assert found == dict(
        train=[osp.join(root, names[0]),
               osp.join(root, names[1])],
        val=[osp.join(root, names[2])],
        test=[osp.join(root, names[3])])

    for split, index in (('train', 0), ('test', 3)):
        dataset = CUBDataset(
            split=split, data_root=str(tmp_path), pipeline=RAW_PIPELINE)
        soft = np.array(
            Image.open(tmp_path / 'segmentations' /
                       names[index].replace('.jpg', '.png')))
        first = soft[..., 0] if soft.ndim == 3 else soft
        np.testing.assert_array_equal(
            _gt(dataset[0]), (first > 127).astype(np.uint8))
        assert 0 < _gt(dataset[0]).mean() < 1


def test_cub_bad_split_line_is_reported(tmp_path):
    _make_cub(tmp_path)
    (tmp_path / 'train_val_test_split.txt').write_text('1 0\n2\n')
    with pytest.raises(ValueError, match='train_val_test_split.txt'):
        CUBDataset(data_root=str(tmp_path))


# --------------------------------------------------------------------------
# LFW-funneled
# --------------------------------------------------------------------------
def _make_lfw(root: Path) -> None:
    rng = np.random.default_rng(2)
    people = dict(Aaron_Peirsol=3, Zico=2)
    for person, count in people.items():
        for n in range(1, count + 1):
            stem = f'{person}_{n:04d}'
            _save(root / 'lfw_funneled' / person / f'{stem}.jpg',
                  _photo(rng, 25, 25))
            if n >= 2:  # only some images have part labels
                parts = np.zeros((25, 25, 3), np.uint8)
                parts[..., 2] = 255  # background
                parts[3:10, 5:20] = (255, 0, 0)  # hair
                parts[10:22, 7:18] = (0, 255, 0)  # skin
                parts[12, 12] = (0, 0, 140)  # mostly background: B >= 128
                _save(root / 'parts_lfw_funneled_gt_images' / f'{stem}.ppm',
                      parts)
    (root / 'train.txt'
     ).write_text('Aaron_Peirsol Aaron_Peirsol_0001\nZico Zico_0001\n')
    # The other accepted line forms: "<person> <number>" and "<stem>".
    (root / 'val.txt').write_text('Aaron_Peirsol 2\nZico_0002\n')
    (root / 'test.txt').write_text('Aaron_Peirsol Aaron_Peirsol_0003\n')


@pytest.mark.parametrize('suffix', ['.ppm', '.png'])
def test_lfw_lists_and_part_labels(tmp_path, suffix):
    """The official .ppm part labels, or the shared copy's PNG re-saves."""
    _make_lfw(tmp_path)
    labels = tmp_path / 'parts_lfw_funneled_gt_images'
    if suffix == '.png':
        for ppm in labels.glob('*.ppm'):
            _save(ppm.with_suffix('.png'), _rgb(ppm))
            ppm.unlink()
    train = LFWDataset(ann_file='train.txt', data_root=str(tmp_path))
    assert [osp.basename(d['img_path']) for d in _infos(train)
            ] == ['Aaron_Peirsol_0001.jpg', 'Zico_0001.jpg']
    assert all('seg_map_path' not in d for d in _infos(train))

    val = LFWDataset(
        ann_file='val.txt',
        data_root=str(tmp_path),
        require_masks=True,
        pipeline=RAW_PIPELINE)
    assert [osp.basename(d['seg_map_path']) for d in _infos(val)
            ] == ['Aaron_Peirsol_0002' + suffix, 'Zico_0002' + suffix]
    parts = _rgb(labels / f'Zico_0002{suffix}')
    expected = (parts[..., 2] < 128).astype(np.uint8)
    gt = _gt(val[1])
    np.testing.assert_array_equal(gt, expected)
    assert gt[12, 12] == 0 and gt[5, 10] == 1 and gt[15, 10] == 1

    with pytest.raises(FileNotFoundError, match='no mask'):
        LFWDataset(
            ann_file='train.txt', data_root=str(tmp_path), require_masks=True)


# --------------------------------------------------------------------------
# Flowers-17 layout (fixture), preprocessing and the evaluation-shape trap
# --------------------------------------------------------------------------
def _make_flowers17(
    root: Path, sizes=((90, 60), (60, 90), (40, 40), (100, 70))) -> None:
    """Images of the given (H, W); all but the first have masks."""
    rng = np.random.default_rng(3)
    stems = []
    for i, (height, width) in enumerate(sizes, 1):
        stem = f'image_{i:04d}'
        stems.append(stem)
        _save(root / 'images' / f'{stem}.jpg', _photo(rng, height, width))
        if i > 1:
            mask = rng.integers(0, 2, (height, width), dtype=np.uint8)
            mask[0, :] = 255
            _save(root / 'masks' / f'{stem}.png', mask)
    (root / 'train.txt').write_text('\n'.join(stems) + '\n')
    (root / 'val.txt').write_text('\n'.join(stems[1:]) + '\n')
    (root / 'test.txt').write_text('\n'.join(stems[1:]) + '\n')


def _reference_preprocess(img: Image.Image, size: int) -> np.ndarray:
    """What the ReDO reference does with torchvision, written with PIL.

    ``Resize(size, NEAREST)``: the shorter side becomes ``size``, the longer
    one ``int(size * long / short)``; ``CenterCrop(size)``: offsets
    ``int(round((side - size) / 2))``.
    """
    width, height = img.size
    if width <= height:
        new = (size, int(size * height / width))
    else:
        new = (int(size * width / height), size)
    img = img.resize(new, Image.NEAREST)
    left = int(round((new[0] - size) / 2.))
    top = int(round((new[1] - size) / 2.))
    return np.array(img.crop((left, top, left + size, top + size)))


def _flowers17_cfg(root: Path) -> Config:
    cfg = Config.fromfile(str(CONFIGS / 'flowers17.py'))
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = str(root)
    return cfg


def test_flowers17_config_preprocessing_matches_reference(tmp_path):
    _make_flowers17(tmp_path)
    cfg = _flowers17_cfg(tmp_path)
    assert cfg.img_size == 128
    test_set = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(test_set) == 3  # wide, square and tall images
    for index in range(3):
        packed = test_set[index]
        info = test_set.get_data_info(index)
        img = packed['inputs'].numpy().transpose(1, 2, 0)  # BGR
        expected_img = _reference_preprocess(
            Image.open(info['img_path']).convert('RGB'), 128)
        np.testing.assert_array_equal(img[..., ::-1], expected_img)
        expected_gt = _reference_preprocess(
            Image.open(info['seg_map_path']), 128)
        np.testing.assert_array_equal(_gt(packed), expected_gt)
        meta = packed['data_samples'].metainfo
        assert tuple(meta['img_shape']) == (128, 128)
        assert tuple(meta['ori_shape']) == (128, 128)

    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(train_set) == 4  # the unmasked image is a training image
    packed = train_set[0]
    assert packed['inputs'].shape == (3, 128, 128)
    assert 'gt_sem_seg' not in packed['data_samples']


def _predict(samples, logits, align_corners=False):
    """mmseg's own postprocess_result, on a minimal stand-in segmentor."""
    stub = types.SimpleNamespace(align_corners=align_corners)
    return BaseSegmentor.postprocess_result(stub, logits, samples)


def test_eval_shapes_through_preprocessor_and_postprocess(tmp_path):
    _make_flowers17(tmp_path)
    cfg = _flowers17_cfg(tmp_path)
    test_set = DATASETS.build(cfg.test_dataloader.dataset)
    batch = pseudo_collate([test_set[0], test_set[1]])
    preprocessor = SegDataPreProcessor(
        mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=True)
    data = preprocessor(batch, training=False)
    assert data['inputs'].shape == (2, 3, 128, 128)
    # bgr_to_rgb turns the loaders' BGR into RGB: channel 0 is red.
    info = test_set.get_data_info(0)
    red = _reference_preprocess(
        Image.open(info['img_path']).convert('RGB'), 128)[..., 0]
    torch.testing.assert_close(data['inputs'][0, 0],
                               (torch.from_numpy(red).float() - 127.5) / 127.5)

    # A "model" predicting the ground truth itself must score perfectly.
    gts = torch.stack([s.gt_sem_seg.data[0] for s in data['data_samples']])
    logits = torch.stack([(gts != 1).float(), (gts == 1).float()], 1)
    samples = _predict(data['data_samples'], logits)
    metric = ReDOMetric()
    metric.process({}, [s.to_dict() for s in samples])
    assert metric.compute_metrics(metric.results)['object_iou'] == 1.0

    # Without ResetOriShape, predictions go back to the uncropped image
    # size and cannot be compared with the cropped ground truth.
    cfg.test_dataloader.dataset.pipeline = [
        t for t in cfg.eval_pipeline if t['type'] != 'ResetOriShape'
    ]
    broken = DATASETS.build(cfg.test_dataloader.dataset)
    data = preprocessor(pseudo_collate([broken[0]]), training=False)
    samples = _predict(data['data_samples'], logits[:1])
    with pytest.raises(ValueError, match='differ in shape'):
        ReDOMetric().process({}, [s.to_dict() for s in samples])


def test_base_configs_build(tmp_path):
    names = sorted(p.stem for p in CONFIGS.glob('*.py'))
    # Every dataset of the README has a base config (variants may be added).
    assert {
        'cub', 'flowers102', 'flowers17', 'image_folder', 'lfw', 'synthetic'
    } <= set(names)
    for name in names:
        cfg = Config.fromfile(str(CONFIGS / f'{name}.py'))
        pipelines = [cfg.train_pipeline] + [
            cfg[key] for key in ('eval_pipeline', 'test_pipeline') if key in cfg
        ]
        for pipeline in pipelines:
            for step in pipeline:  # every transform name must resolve
                assert TRANSFORMS.get(step['type']) is not None, step
        if name.startswith('image_folder'):
            # Own photos: a held-out split, no test split; scored without
            # labels, or against a teacher's pseudo-labels where the folder
            # has them (the self-training student's data).
            assert cfg.val_dataloader.dataset.split == 'val'
            pseudo_labels = cfg.val_dataloader.dataset.get('seg_map_dir')
            assert cfg.val_evaluator.type == (
                'IoUMetric' if pseudo_labels else 'LabelFreeMaskScore')
            assert cfg.test_dataloader is None
            continue
        types_ = [m['type'] for m in cfg.val_evaluator]
        assert types_ == ['IoUMetric', 'ReDOMetric']
        assert cfg.test_dataloader.dataset.get('require_masks') or (
            name == 'synthetic')

    cfg = Config.fromfile(str(CONFIGS / 'synthetic.py'))
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.num_samples = 3
        packed = DATASETS.build(cfg[name].dataset)[0]
        assert packed['inputs'].shape == (3, cfg.img_size, cfg.img_size)
        assert ('gt_sem_seg' in packed['data_samples']) == (
            name != 'train_dataloader')

    photos = tmp_path / 'photos'
    rng = np.random.default_rng(4)
    for i in range(20):  # the fewest a train/val split takes
        _save(photos / f'{i}.jpg', _photo(rng, 50, 70))
    for name, size in (('image_folder', 128), ('image_folder_64x64', 64)):
        cfg = Config.fromfile(str(CONFIGS / f'{name}.py'))
        for key in ('train_dataloader', 'val_dataloader'):
            cfg[key].dataset.data_root = str(photos)
            packed = DATASETS.build(cfg[key].dataset)[0]
            assert packed['inputs'].shape == (3, size, size)
            assert 'gt_sem_seg' not in packed['data_samples']


def test_image_folder_recursive(tmp_path):
    rng = np.random.default_rng(5)
    _save(tmp_path / 'b.JPG', _photo(rng, 10, 10))
    _save(tmp_path / 'sub' / 'a.png', _photo(rng, 10, 10))
    _save(tmp_path / 'sub' / 'deeper' / 'c.bmp', _photo(rng, 10, 10))
    (tmp_path / 'notes.txt').write_text('not an image')
    dataset = ImageFolderDataset(data_root=str(tmp_path))
    found = [osp.relpath(d['img_path'], tmp_path) for d in _infos(dataset)]
    assert found == ['b.JPG', 'sub/a.png', 'sub/deeper/c.bmp']
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='no image'):
        ImageFolderDataset(data_root=str(empty))


# --------------------------------------------------------------------------
# Bad input: each error names the file and the way out
# --------------------------------------------------------------------------
def _load(path: Path, **kwargs) -> dict:
    return LoadImageFromFileChecked(**kwargs)(dict(img_path=str(path)))


def test_corrupt_and_truncated_images_name_the_file(tmp_path):
    corrupt = tmp_path / 'corrupt.jpg'
    corrupt.write_bytes(b'this is not a jpeg' * 10)
    with pytest.raises(ValueError, match='corrupt.jpg.*re-download'):
        _load(corrupt)

    good = _save(
        tmp_path / 'good.jpg',
        _photo(np.random.default_rng(6), 64, 64),
        quality=90)
    truncated = tmp_path / 'truncated.jpg'
    truncated.write_bytes(good.read_bytes()[:good.stat().st_size // 2])
    with pytest.raises(ValueError, match='truncated.jpg'):
        _load(truncated)
    assert _load(good)['img'].shape == (64, 64, 3)

    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        _load(tmp_path / 'missing.jpg')


def test_gray_and_rgba_images_become_three_channels(tmp_path):
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    rgba = np.zeros((6, 8, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 10, 20, 30, 77
    gray_path = _save(tmp_path / 'gray.png', gray)
    rgba_path = _save(tmp_path / 'rgba.png', rgba)
    for load in (
            lambda p: _load(p),
            # mmcv's own loader (OpenCV) behaves the same way.
            lambda p: LoadImageFromFile(color_type='color')
        (dict(img_path=str(p)))):
        img = load(gray_path)['img']
        assert img.shape == (6, 8, 3)
        for channel in range(3):
            np.testing.assert_array_equal(img[..., channel], gray)
        img = load(rgba_path)['img']
        assert img.shape == (6, 8, 3)
        np.testing.assert_array_equal(img[0, 0], [30, 20, 10])  # BGR


def test_mask_size_mismatch_names_both_files(tmp_path):
    _make_flowers17(tmp_path)
    _save(tmp_path / 'masks' / 'image_0002.png', np.zeros((5, 5), np.uint8))
    dataset = Flowers17Dataset(
        ann_file='val.txt', data_root=str(tmp_path), pipeline=RAW_PIPELINE)
    with pytest.raises(
            ValueError, match='masks/image_0002.png.*images/image_0002.jpg'):
        dataset[0]


def test_label_mask_with_other_values_is_rejected(tmp_path):
    _make_flowers17(tmp_path)
    _save(tmp_path / 'masks' / 'image_0003.png', np.full((40, 40), 7,
                                                         np.uint8))
    dataset = Flowers17Dataset(
        ann_file='val.txt', data_root=str(tmp_path), pipeline=RAW_PIPELINE)
    with pytest.raises(ValueError, match='image_0003.png.*expected 0'):
        dataset[1]


def test_split_list_errors(tmp_path):
    _make_flowers17(tmp_path)
    (tmp_path / 'val.txt').write_text('\n  \n')
    with pytest.raises(ValueError, match='val.txt is empty'):
        Flowers17Dataset(ann_file='val.txt', data_root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match='nope.txt does not exist'):
        Flowers17Dataset(ann_file='nope.txt', data_root=str(tmp_path))
    (tmp_path / 'val.txt').write_text('image_0002\nimage_9999\n')
    with pytest.raises(FileNotFoundError, match='image_9999.jpg'):
        Flowers17Dataset(ann_file='val.txt', data_root=str(tmp_path))


def test_unmasked_image_in_evaluation_split(tmp_path):
    _make_flowers17(tmp_path)
    with pytest.raises(FileNotFoundError, match='masks/image_0001.png'):
        Flowers17Dataset(
            ann_file='train.txt', data_root=str(tmp_path), require_masks=True)
    # Training does not need masks: the unmasked image has no seg_map_path.
    infos = _infos(
        Flowers17Dataset(ann_file='train.txt', data_root=str(tmp_path)))
    assert ['seg_map_path' in d for d in infos] == [False, True, True, True]


@pytest.mark.parametrize('cls', [
    Flowers17Dataset, Flowers102Dataset, CUBDataset, LFWDataset,
    ImageFolderDataset
])
def test_missing_data_root_points_to_docs(tmp_path, cls):
    root = tmp_path / 'not_there'
    with pytest.raises(FileNotFoundError, match=f'{root}.*docs/datasets.md'):
        cls(data_root=str(root))


def test_load_object_mask_skips_samples_without_mask():
    results = dict(img=np.zeros((4, 4, 3), np.uint8), seg_fields=[])
    assert 'gt_seg_map' not in LoadObjectMask()(results)


# --------------------------------------------------------------------------
# Synthetic objects
# --------------------------------------------------------------------------
def test_synthetic_is_seeded_and_splits_differ():
    a, mask_a = render_synthetic_sample(np.random.default_rng(7), 64)
    b, mask_b = render_synthetic_sample(np.random.default_rng(7), 64)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(mask_a, mask_b)
    c, _ = render_synthetic_sample(np.random.default_rng(8), 64)
    assert not np.array_equal(a, c)

    def arrays(**kwargs):
        dataset = SyntheticObjectsDataset(num_samples=4, **kwargs)
        return [dataset.get_data_info(i)['synthetic_img'] for i in range(4)]

    first = arrays(seed=3, split='val')
    for x, y in zip(first, arrays(seed=3, split='val')):
        np.testing.assert_array_equal(x, y)
    for other in (arrays(seed=3, split='test'), arrays(seed=4, split='val')):
        assert not any(np.array_equal(x, y) for x in first for y in other)
    # Sample i does not depend on how many samples are asked for.
    np.testing.assert_array_equal(
        arrays(seed=3, split='val')[2],
        SyntheticObjectsDataset(num_samples=9, seed=3,
                                split='val').get_data_info(2)['synthetic_img'])


def test_synthetic_masks_and_bgr_loading():
    dataset = SyntheticObjectsDataset(
        num_samples=200,
        size=48,
        pipeline=[
            dict(type='LoadSyntheticSample', with_seg=True),
            dict(type='PackSegInputs')
        ])
    for index in range(len(dataset)):
        mask = dataset.get_data_info(index)['synthetic_mask']
        assert mask.shape == (48, 48) and set(np.unique(mask)) == {0, 1}
        assert 0.15 <= mask.mean() <= 0.40
        assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any()
                    or mask[:, -1].any())
    rgb, mask = render_synthetic_sample(np.random.default_rng([0, 0, 5]), 48)
    packed = dataset[5]
    np.testing.assert_array_equal(packed['inputs'].numpy().transpose(1, 2, 0),
                                  rgb[..., ::-1])
    np.testing.assert_array_equal(_gt(packed), mask)
    assert tuple(packed['data_samples'].ori_shape) == (48, 48)
    with pytest.raises(KeyError, match='SyntheticObjectsDataset'):
        LoadSyntheticSample()(dict(img_path='x.jpg'))


def test_synthetic_rendering_is_fast():
    start = time.perf_counter()
    SyntheticObjectsDataset(num_samples=300, size=64)
    # About 0.4 s on 2 busy cores; the bound only catches a big slowdown.
    assert time.perf_counter() - start < 6


def _threshold_ious(values: np.ndarray, masks: np.ndarray) -> float:
    """Best object IoU of any single-channel threshold, either polarity.

    ``values``: (..., C) uint8 channels, ``masks``: (...) bool; the pixels
    are pooled, so pass one image for a per-image threshold or the whole set
    for one threshold for all.
    """
    best = 0.0
    for channel in range(values.shape[-1]):
        v = values[..., channel]
        obj = np.bincount(v[masks], minlength=256).astype(float)
        bg = np.bincount(v[~masks], minlength=256).astype(float)
        tp = np.cumsum(obj[::-1])[::-1]  # pred = value >= t
        fp = np.cumsum(bg[::-1])[::-1]
        for tp_, fp_ in ((tp, fp), (obj.sum() - tp, bg.sum() - fp)):
            best = max(best, float((tp_ / (obj.sum() + fp_)).max()))
    return best


def _colour_channels(rgb: np.ndarray) -> np.ndarray:
    hsv = np.stack([cv2.cvtColor(img, cv2.COLOR_RGB2HSV) for img in rgb])
    return np.concatenate([rgb, hsv], -1)


# The renderer's default look, and flat objects on a scene-wide background
# with the shared palette, which a threshold chosen per image *with the
# labels* does cut out (about 0.99), but no threshold shared by the whole
# set does.
@pytest.mark.parametrize('style,per_image_bound', [
    (dict(), 0.8),
    (dict(fine_pattern=False, noise_std=0.0, background='coherent'), None),
])
def test_synthetic_is_not_separable_by_colour(style, per_image_bound):
    samples = [
        render_synthetic_sample(np.random.default_rng([0, 2, i]), 64, **style)
        for i in range(300)
    ]
    rgb = np.stack([s[0] for s in samples])
    masks = np.stack([s[1] for s in samples]).astype(bool)
    channels = _colour_channels(rgb)
    # One threshold on R, G, B, hue, saturation or value for the whole
    # set, chosen with the ground truth: about the "all object" score.
    assert _threshold_ious(channels, masks) < 0.5
    # Even a threshold chosen per image with its ground truth (an oracle no
    # unsupervised method has) stays well short of a clean segmentation.
    if per_image_bound is not None:
        per_image = np.mean(
            [_threshold_ious(c, m) for c, m in zip(channels, masks)])
        assert per_image < per_image_bound

    # Control: the same search does find objects that differ in colour.
    rng = np.random.default_rng(9)
    easy = np.where(masks[..., None], [200, 40, 40], [40, 40, 200])
    easy = np.clip(easy + rng.normal(0, 20, easy.shape), 0, 255)
    easy = _colour_channels(easy.astype(np.uint8))
    assert _threshold_ious(easy, masks) > 0.95


def test_cached_compose_replays_decoded_images(tmp_path):
    """A cached sample is not read again, and callers cannot alter the
    cache; past the size limit samples are recomputed."""
    rng = np.random.default_rng(0)
    paths = [_save(tmp_path / f'{i}.png', _photo(rng, 40, 50)) for i in (0, 1)]
    steps = [
        dict(type='LoadImageFromFileChecked'),
        dict(type='ResizeShorterSide', size=16),
        dict(type='CenterCrop', crop_size=16),
    ]
    cached = TRANSFORMS.build(dict(type='CachedCompose', transforms=steps))
    uncached = TRANSFORMS.build(
        dict(type='CachedCompose', transforms=steps, max_mib=0))
    first = cached(dict(img_path=str(paths[0])))
    expected = first['img'].copy()
    assert expected.shape == (16, 16, 3)
    np.testing.assert_array_equal(
        uncached(dict(img_path=str(paths[0])))['img'], expected)
    first['img'][:] = 0  # a later transform writing in place
    paths[0].unlink()  # a second read would fail
    np.testing.assert_array_equal(
        cached(dict(img_path=str(paths[0])))['img'], expected)
    with pytest.raises(Exception, match='0.png'):
        uncached(dict(img_path=str(paths[0])))
    # Another sample is its own cache entry.
    other = cached(dict(img_path=str(paths[1])))['img']
    assert not np.array_equal(other, expected)


def test_synthetic_split_palette():
    """palette='split': vivid objects on muted scenes, drawn independently.

    The demo's look (configs/redo/redo_toy.py). Like the paper's toy
    (coloured digits on a grey background), one saturation threshold for the
    whole set separates object from background; ReDO has to find that
    without labels.
    """
    style = dict(
        fine_pattern=False,
        noise_std=0.0,
        background='coherent',
        palette='split')
    samples = [
        render_synthetic_sample(np.random.default_rng([0, 2, i]), 64, **style)
        for i in range(100)
    ]
    rgb = np.stack([s[0] for s in samples])
    masks = np.stack([s[1] for s in samples]).astype(bool)
    sat = _colour_channels(rgb)[..., 4].astype(float) / 255
    assert sat[masks].min() > 0.5 > sat[~masks].max()
    # Same shapes as the shared palette from the same seed: only colours
    # change (the mask is drawn first).
    _, shared_mask = render_synthetic_sample(
        np.random.default_rng([0, 2, 0]), 64, fine_pattern=False,
        noise_std=0.0, background='coherent')
    np.testing.assert_array_equal(shared_mask, masks[0])
    # Independent colours: object hues do not follow background hues.
    hue = _colour_channels(rgb)[..., 3].astype(float)
    obj_hue = np.array([h[m].mean() for h, m in zip(hue, masks)])
    bg_hue = np.array([h[~m].mean() for h, m in zip(hue, masks)])
    assert abs(np.corrcoef(obj_hue, bg_hue)[0, 1]) < 0.3
    with pytest.raises(ValueError, match='palette'):
        render_synthetic_sample(np.random.default_rng(0), 64, palette='x')


@pytest.mark.skipif(
    not osp.isfile(osp.join(LFW, 'val.txt')), reason=f'LFW not found at {LFW}')
def test_lfw_cpu_config_reads_the_shared_layout():
    """The CPU LFW config on ../shared/data/lfw: 4,000 unlabelled training
    photos, 1,327 validation photos whose PNG part labels give the mask."""
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'redo', 'redo_lfw_small_data_cpu.py'))
    train = DATASETS.build(cfg.train_dataloader.dataset)
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(train) == 4000 and len(val) == 1327
    sample = val[0]
    assert sample['data_samples'].seg_map_path.endswith('.png')
    gt = sample['data_samples'].gt_sem_seg.data
    assert tuple(gt.shape[-2:]) == (64, 64)
    assert set(np.unique(gt.numpy())) == {0, 1}
