"""ReDOMetric and mmseg's IoUMetric against numbers worked out by hand."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample
from mmseg_redo.evaluation import ReDOMetric, binary_counts, redo_scores

X = 255  # ignore index
# Image A: valid pixels give tp=1, fp=1, fn=1, tn=2 (one pixel ignored).
GT_A = [[1, 1, 0], [0, 0, X]]
PRED_A = [[1, 0, 0], [1, 0, 0]]
# Image B: mostly swapped: tp=0, fp=2, fn=3, tn=1.
GT_B = [[1, 1, 1], [0, 0, 0]]
PRED_B = [[0, 0, 0], [1, 1, 0]]


def _sample(pred, gt, name='img.jpg') -> dict:
    sample = SegDataSample(metainfo=dict(img_path=name))
    sample.pred_sem_seg = PixelData(data=torch.tensor([pred]))
    sample.gt_sem_seg = PixelData(data=torch.tensor([gt]))
    return sample.to_dict()


def test_binary_counts_by_hand():
    assert binary_counts(torch.tensor(PRED_A),
                         torch.tensor(GT_A)) == (1, 1, 1, 2)
    assert binary_counts(torch.tensor(PRED_B),
                         torch.tensor(GT_B)) == (0, 2, 3, 1)


def test_redo_scores_by_hand():
    scores = redo_scores([(1, 1, 1, 2), (0, 2, 3, 1)])
    # A: acc 3/5 vs inverse 2/5 -> 3/5; IoU 1/3 vs inverse 1/4 -> 1/3.
    # B: acc 1/6 vs inverse 5/6 -> 5/6; IoU 0 vs inverse 3/4 -> 3/4.
    expected = dict(
        redo_acc_best_of_2=(3 / 5 + 5 / 6) / 2,
        redo_iou_best_of_2=(1 / 3 + 3 / 4) / 2,
        per_image_acc_fixed=(3 / 5 + 1 / 6) / 2,
        per_image_iou_fixed=(1 / 3 + 0) / 2,
        object_iou=1 / 8)
    assert scores == pytest.approx(expected)


def test_best_of_two_is_chosen_independently():
    # A tiny object wrongly predicted as everything: the inverse wins on
    # accuracy (0.9 vs 0.1), the prediction itself wins on IoU (0.1 vs 0).
    scores = redo_scores([(1, 9, 0, 0)])
    assert scores['redo_acc_best_of_2'] == pytest.approx(0.9)
    assert scores['redo_iou_best_of_2'] == pytest.approx(0.1)


def test_undefined_images_are_left_out():
    # No object in the ground truth: IoU undefined, accuracy defined.
    # No valid pixel at all: nothing defined.
    scores = redo_scores([(1, 1, 1, 2), (0, 3, 0, 1), (0, 0, 0, 0)])
    assert scores['per_image_iou_fixed'] == pytest.approx(1 / 3)
    assert scores['redo_iou_best_of_2'] == pytest.approx(1 / 3)
    assert scores['per_image_acc_fixed'] == pytest.approx((3 / 5 + 1 / 4) / 2)
    assert scores['redo_acc_best_of_2'] == pytest.approx((3 / 5 + 3 / 4) / 2)
    assert scores['object_iou'] == pytest.approx(1 / 6)
    assert all(math.isnan(v) for v in redo_scores([(0, 0, 0, 0)]).values())


def test_redo_metric_and_iou_metric_agree_on_samples():
    samples = [_sample(PRED_A, GT_A, 'a.jpg'), _sample(PRED_B, GT_B, 'b.jpg')]
    redo = ReDOMetric()
    redo.process({}, samples)
    scores = redo.compute_metrics(redo.results)
    assert scores['object_iou'] == pytest.approx(1 / 8)
    assert scores['redo_iou_best_of_2'] == pytest.approx((1 / 3 + 3 / 4) / 2)

    iou = IoUMetric(iou_metrics=['mIoU'])
    iou.dataset_meta = dict(classes=('background', 'object'))
    iou.process({}, samples)
    mm = iou.compute_metrics(iou.results)
    # Background: intersection tn = 2 + 1, union = 4 + 6; object 1 / 8.
    assert mm['mIoU'] == pytest.approx(100 * (3 / 10 + 1 / 8) / 2, abs=0.01)
    assert mm['aAcc'] == pytest.approx(100 * 4 / 11, abs=0.01)
    intersect = sum(r[0] for r in iou.results)
    union = sum(r[1] for r in iou.results)
    assert float(intersect[1] / union[1]) == pytest.approx(
        scores['object_iou'])


def test_redo_metric_object_index_and_prefix():
    # Labels swapped (object = 0): the scores follow object_index.
    swap = {0: 1, 1: 0, X: X}
    gt = [[swap[v] for v in row] for row in GT_A]
    pred = [[swap[v] for v in row] for row in PRED_A]
    metric = ReDOMetric(object_index=0, prefix='val')
    metric.process({}, [_sample(pred, gt)])
    metric.dataset_meta = dict(classes=('background', 'object'))
    scores = metric.evaluate(1)
    assert scores['val/per_image_iou_fixed'] == pytest.approx(1 / 3)


def test_redo_metric_errors_name_the_image():
    metric = ReDOMetric()
    with pytest.raises(ValueError, match='bad.jpg.*differ in shape'):
        metric.process({}, [_sample([[1, 0, 1]], [[1, 0], [0, 1]], 'bad.jpg')])
    no_gt = SegDataSample(metainfo=dict(img_path='nogt.jpg'))
    no_gt.pred_sem_seg = PixelData(data=torch.zeros(1, 2, 2))
    with pytest.raises(KeyError, match='nogt.jpg'):
        metric.process({}, [no_gt.to_dict()])


def test_random_masks_match_a_direct_computation():
    rng = np.random.default_rng(0)
    samples, counts = [], []
    for _ in range(5):
        gt = rng.choice([0, 1, X], size=(7, 9), p=[0.5, 0.4, 0.1])
        pred = rng.integers(0, 2, size=(7, 9))
        valid = gt != X
        obj, hit = gt[valid] == 1, pred[valid] == 1
        counts.append((int((hit & obj).sum()), int(
            (hit & ~obj).sum()), int(
                (~hit & obj).sum()), int((~hit & ~obj).sum())))
        samples.append(_sample(pred.tolist(), gt.tolist()))
    metric = ReDOMetric()
    metric.process({}, samples)
    assert metric.results == counts
