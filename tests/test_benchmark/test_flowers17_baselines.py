"""Flowers-17 baselines through the project's configs, pipeline and metrics:
label-free ones give the numbers of the data's README, and the supervised
baselines train on the listed masked images only.

The data is looked up in ``$MMSEG_REDO_DATA/flowers17`` or, by default, in
``shared/data/flowers17`` beside the repository; the tests are skipped when
it is absent (the data is not shipped with the code).
"""
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FLOWERS17, REPO_ROOT
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.registry import DATASETS

from mmseg_redo.evaluation import ReDOMetric

REPO = Path(REPO_ROOT)
ROOT = Path(os.environ['MMSEG_REDO_DATA']) / 'flowers17' if os.environ.get(
    'MMSEG_REDO_DATA') else Path(FLOWERS17)
needs_flowers17 = pytest.mark.skipif(
    not (ROOT / 'test.txt').is_file(),
    reason=f'Flowers-17 not found at {ROOT}; set MMSEG_REDO_DATA to the '
    'folder holding flowers17/')


@pytest.fixture(scope='module', autouse=True)
def one_torch_thread():
    """IoUMetric runs a few tiny torch ops per image; on a small, busy CPU,
    torch's threads competing for the cores make each take ~50 ms."""
    init_default_scope('mmseg')
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _ellipse(size: int) -> np.ndarray:
    """Centred ellipse, semi-axes 0.35 of the height and 0.30 of the width."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    centre = size / 2
    return ((((yy - centre) / (0.35 * size))**2 +
             ((xx - centre) / (0.30 * size))**2) <= 1).astype(np.int64)


@needs_flowers17
@pytest.mark.parametrize('name, expected', [
    ('all_object', dict(object_iou=0.305, miou=0.152, acc=0.305)),
    ('ellipse', dict(object_iou=0.584, miou=0.686, acc=0.836)),
])
def test_flowers17_baseline(name, expected):
    cfg = Config.fromfile(
        str(REPO / 'configs' / '_base_' / 'datasets' / 'flowers17.py'))
    cfg.test_dataloader.dataset.data_root = str(ROOT)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(dataset) == 300
    pred = torch.from_numpy(
        np.ones((128, 128), np.int64) if name == 'all_object' else
        _ellipse(128))[None]
    batch = []
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        assert tuple(sample.gt_sem_seg.shape) == (128, 128)
        sample.pred_sem_seg = PixelData(data=pred)
        batch.append(sample.to_dict())
    iou = IoUMetric(iou_metrics=['mIoU'])
    iou.dataset_meta = dataset.metainfo
    redo = ReDOMetric()
    for metric in (iou, redo):
        metric.process({}, batch)
    scores = dict(iou.compute_metrics(iou.results),
                  **redo.compute_metrics(redo.results))
    assert scores['object_iou'] == pytest.approx(
        expected['object_iou'], abs=0.005)
    assert scores['mIoU'] / 100 == pytest.approx(expected['miou'], abs=0.005)
    assert scores['aAcc'] / 100 == pytest.approx(expected['acc'], abs=0.005)


@needs_flowers17
def test_supervised_training_list_is_train_txt_with_masks(
        tmp_path, monkeypatch):
    with open(REPO / 'benchmarks' / 'splits' /
              'flowers17_train_masked.txt') as f:
        listed = [ln.strip() for ln in f
                  if ln.strip() and not ln.startswith('#')]
    train = (ROOT / 'train.txt').read_text().split()
    masked = [s for s in train if (ROOT / 'masks' / f'{s}.png').is_file()]
    assert listed == masked and len(listed) == 400
    held_out = set((ROOT / 'val.txt').read_text().split() +
                   (ROOT / 'test.txt').read_text().split())
    assert not held_out & set(listed)
    # The configs find the list from any working directory.
    monkeypatch.chdir(tmp_path)
    for name in ('redo-masknet_supervised_flowers17-64x64',
                 'unet-s5-d16_fcn_supervised_flowers17-64x64'):
        cfg = Config.fromfile(str(REPO / 'configs' / 'baselines' /
                                  f'{name}.py'))
        cfg.train_dataloader.dataset.data_root = str(ROOT)
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        assert len(dataset) == 400
        gt = dataset[0]['data_samples'].gt_sem_seg.data
        assert tuple(gt.shape[-2:]) == (64, 64)
        assert set(np.unique(gt.numpy())) <= {0, 1, 255}
