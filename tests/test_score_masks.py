"""Tests of tools/analysis_tools/score_masks.py."""
import importlib.util
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location(
    'score_masks', osp.join(REPO_ROOT, 'tools', 'analysis_tools',
                            'score_masks.py'))
score_masks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(score_masks)


def _png(path, array):
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


def test_dataset_level_iou_ignores_ignore_pixels(tmp_path):
    pred_dir, gt_dir = tmp_path / 'pred', tmp_path / 'gt'
    pred_dir.mkdir()
    gt_dir.mkdir()
    # a: gt object = left half (8 px), prediction = first column only (4 px)
    # plus an ignored pixel predicted as object: I 4, U 8.
    gt = np.zeros((4, 4))
    gt[:, :2] = 1
    gt[0, 3] = 255
    pred = np.zeros((4, 4))
    pred[:, 0] = 255
    pred[0, 3] = 255
    _png(gt_dir / 'a.png', gt)
    _png(pred_dir / 'a.png', pred)
    # b: perfect, 2 object pixels: I 2, U 2.
    gt_b = np.zeros((2, 2))
    gt_b[0] = 1
    _png(gt_dir / 'b.png', gt_b)
    _png(pred_dir / 'b.png', gt_b * 255)
    scores = score_masks.score_folder(str(pred_dir), str(gt_dir))
    assert scores['object_iou'] == pytest.approx(6 / 10)
    assert scores['mean_image_iou'] == pytest.approx((0.5 + 1.0) / 2)
    assert score_masks.score_folder(str(pred_dir), str(gt_dir),
                                    ['b'])['object_iou'] == 1.0
    with pytest.raises(FileNotFoundError, match='c.png'):
        score_masks.score_folder(str(pred_dir), str(gt_dir), ['c'])
    _png(pred_dir / 'b.png', np.zeros((3, 3)))
    with pytest.raises(ValueError, match='size'):
        score_masks.score_folder(str(pred_dir), str(gt_dir))
