"""Tests of mmseg_redo.evaluation.mask_folder (score_masks.py)."""
import numpy as np
import pytest
from PIL import Image

from mmseg_redo.evaluation.mask_folder import read_ids, score_mask_folder


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
    scores = score_mask_folder(str(pred_dir), str(gt_dir))
    assert scores['object_iou'] == pytest.approx(6 / 10)
    assert scores['mean_image_iou'] == pytest.approx((0.5 + 1.0) / 2)
    assert score_mask_folder(str(pred_dir), str(gt_dir),
                                    ['b'])['object_iou'] == 1.0
    with pytest.raises(FileNotFoundError, match='c.png'):
        score_mask_folder(str(pred_dir), str(gt_dir), ['c'])
    _png(pred_dir / 'b.png', np.zeros((3, 3)))
    with pytest.raises(ValueError, match='size'):
        score_mask_folder(str(pred_dir), str(gt_dir))


def test_nested_masks_and_lfw_part_colours(tmp_path):
    """Masks under the photos' sub-folders, true masks as LFW's part
    colours (red hair + green skin = object, blue background)."""
    pred_dir, gt_dir = tmp_path / 'pred' / 'Zico', tmp_path / 'gt'
    pred_dir.mkdir(parents=True)
    gt_dir.mkdir()
    parts = np.zeros((4, 4, 3), np.uint8)
    parts[..., 2] = 255
    parts[0, :] = (255, 0, 0)  # hair
    parts[1, :] = (0, 255, 0)  # skin
    Image.fromarray(parts).save(gt_dir / 'Zico_0001.png')
    pred = np.zeros((4, 4))
    pred[1:3, :] = 255  # the skin row and a background row
    _png(pred_dir / 'Zico_0001.png', pred)
    ids = tmp_path / 'val.txt'
    ids.write_text('Zico Zico_0001\n')
    scores = score_mask_folder(
        str(tmp_path / 'pred'), str(gt_dir), read_ids(str(ids)),
        rule='lfw_parts')
    # Object 8 px (rows 0-1), prediction rows 1-2: I 4, U 12.
    assert scores['object_iou'] == pytest.approx(4 / 12)
    assert scores['per_image'] == {'Zico_0001': pytest.approx(4 / 12)}
