"""Label-free baselines on the Flowers-17 test split, through the project's
config, pipeline and metrics; the numbers are those of the data's README.

The data is looked up in ``$MMSEG_REDO_DATA/flowers17`` or, by default, in
``shared/data/flowers17`` beside the repository; the test is skipped when it
is absent (the data is not shipped with the code).
"""
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

from mmseg.evaluation import IoUMetric
from mmseg.registry import DATASETS
from mmseg_redo.evaluation import ReDOMetric
from conftest import FLOWERS17, REPO_ROOT

init_default_scope('mmseg')

REPO = Path(REPO_ROOT)


def _flowers17_root() -> Path:
    if os.environ.get('MMSEG_REDO_DATA'):
        return Path(os.environ['MMSEG_REDO_DATA']) / 'flowers17'
    return Path(FLOWERS17)


def _ellipse(size: int) -> np.ndarray:
    """Centred ellipse, semi-axes 0.35 of the height and 0.30 of the width."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    centre = size / 2
    return ((((yy - centre) / (0.35 * size))**2 +
             ((xx - centre) / (0.30 * size))**2) <= 1).astype(np.int64)


@pytest.fixture(scope='module', autouse=True)
def one_torch_thread():
    """Run torch single-threaded here, restoring the setting afterwards.

    IoUMetric runs a few tiny torch ops per image; on a small, busy CPU,
    torch's threads competing for the cores make each take ~50 ms.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope='module')
def test_samples():
    root = _flowers17_root()
    if not (root / 'test.txt').is_file():
        pytest.skip(f'Flowers-17 not found at {root}; set MMSEG_REDO_DATA to '
                    'the folder holding flowers17/')
    cfg = Config.fromfile(
        str(REPO / 'configs' / '_base_' / 'datasets' / 'flowers17.py'))
    cfg.test_dataloader.dataset.data_root = str(root)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(dataset) == 300
    samples = [dataset[i]['data_samples'] for i in range(len(dataset))]
    return dataset, samples


def _scores(dataset, samples, pred: np.ndarray) -> dict:
    batch = []
    for sample in samples:
        assert tuple(sample.gt_sem_seg.shape) == (128, 128)
        assert tuple(sample.ori_shape) == (128, 128)
        sample = sample.clone()
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
        batch.append(sample.to_dict())
    iou = IoUMetric(iou_metrics=['mIoU'])
    iou.dataset_meta = dataset.metainfo
    redo = ReDOMetric()
    for metric in (iou, redo):
        metric.process({}, batch)
    scores = dict(iou.compute_metrics(iou.results))
    scores.update(redo.compute_metrics(redo.results))
    return scores


@pytest.mark.parametrize('name, expected', [
    ('all_object', dict(object_iou=0.305, miou=0.152, acc=0.305)),
    ('ellipse', dict(object_iou=0.584, miou=0.686, acc=0.836)),
])
def test_flowers17_baseline(test_samples, name, expected):
    dataset, samples = test_samples
    pred = (
        np.ones(
            (128, 128), np.int64) if name == 'all_object' else _ellipse(128))
    scores = _scores(dataset, samples, pred)
    print(name, {k: round(v, 4) for k, v in scores.items()})
    assert scores['object_iou'] == pytest.approx(
        expected['object_iou'], abs=0.005)
    assert scores['mIoU'] / 100 == pytest.approx(expected['miou'], abs=0.005)
    assert scores['aAcc'] / 100 == pytest.approx(expected['acc'], abs=0.005)
