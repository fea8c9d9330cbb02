"""Label-free object choice, checkpoint score, selection tool and curves.

Synthetic masks and predictions, and one tiny CPU training run (16x16
images) shared by the integration tests.
"""
import glob
import json
import logging
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from conftest import FakeReDO, build_tiny_redo_runner, run_tool
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_redo.engine.hooks import MaskAssignmentHook
from mmseg_redo.utils.checkpoint import load_from_local
from mmseg_redo.utils.mask_geometry import border_band
from mmseg_redo.evaluation import (LabelFreeMaskScore,
                                   photo_measures, quality_flags,
                                   quality_score)
from mmseg_redo.evaluation.mask_quality import worst_caught
from mmseg_redo.visualization.curves import find_scalars, read_scalars

SIZE = 16


def centre_blob(radius: float = SIZE / 4) -> torch.Tensor:
    """A soft round object in the middle of the image, (SIZE, SIZE)."""
    coords = torch.arange(SIZE, dtype=torch.float32) - (SIZE - 1) / 2
    distance = (coords[:, None]**2 + coords[None, :]**2).sqrt()
    return torch.sigmoid(radius - distance)


# ---------------------------------------------------------------------------
# MaskAssignmentHook's rules
# ---------------------------------------------------------------------------
def _runner(masks: torch.Tensor, gt=None):
    """A runner stand-in: fixed masks for 2 images, with or without gt."""
    samples = []
    for _ in range(masks.size(0)):
        sample = SegDataSample()
        if gt is not None:
            sample.gt_sem_seg = PixelData(data=gt[None])
        samples.append(sample)
    batch = dict(
        inputs=torch.zeros(masks.size(0), 3, SIZE, SIZE), data_samples=samples)
    return SimpleNamespace(
        model=FakeReDO(masks),
        val_dataloader=[batch],
        logger=logging.getLogger('test_label_free'),
        message_hub=MessageHub.get_instance(f'test_label_free_{id(masks)}'))


def _blob_masks(object_region: int, radius: float = SIZE / 4) -> torch.Tensor:
    """Two regions, the centre blob in ``object_region``; 2 images."""
    blob = centre_blob(radius)
    regions = [1 - blob, blob] if object_region == 1 else [blob, 1 - blob]
    return torch.stack(regions)[None].repeat(2, 1, 1, 1)


# Radius 7: the object covers 60% of the image, so the border rule is not
# 'the smaller region'.
@pytest.mark.parametrize('radius', [4, 7])
@pytest.mark.parametrize('object_region', [0, 1])
def test_border_rule_picks_the_centre_blob(object_region, radius):
    assert centre_blob(7).mean() > 0.55
    runner = _runner(_blob_masks(object_region, radius))  # no gt at all
    MaskAssignmentHook(rule='border').before_val_epoch(runner)
    assert int(runner.model.object_index) == object_region
    hub = runner.message_hub
    assert hub.get_scalar('val/assignment/border_choice').current() == (
        object_region)
    # Without labels there is no label choice to log.
    assert 'val/assignment/label_choice' not in hub.log_scalars


def _disagreeing_runner(with_gt: bool):
    """Labels that call the surround the object: the rules disagree."""
    surround = (centre_blob() < 0.5).long()  # gt 'object' = the rim
    return _runner(_blob_masks(1), surround if with_gt else None)


def test_auto_uses_labels_with_gt_and_logs_both_choices(caplog):
    runner = _disagreeing_runner(with_gt=True)
    with caplog.at_level(logging.INFO, logger='test_label_free'):
        MaskAssignmentHook(rule='auto').before_val_epoch(runner)
    assert int(runner.model.object_index) == 0  # the label rule's region
    hub = runner.message_hub
    logged = {
        key: hub.get_scalar(f'val/assignment/{key}').current()
        for key in ('object_index', 'label_choice', 'border_choice', 'agree')
    }
    assert logged == dict(
        object_index=0, label_choice=0, border_choice=1, agree=0.0)
    assert 'rules disagree' in caplog.text


def test_auto_falls_back_to_border_without_gt():
    runner = _disagreeing_runner(with_gt=False)
    MaskAssignmentHook(rule='auto').before_val_epoch(runner)
    assert int(runner.model.object_index) == 1
    with pytest.raises(ValueError, match='no gt_sem_seg'):
        MaskAssignmentHook(rule='labels').before_val_epoch(runner)


def test_border_rule_with_labels_applies_border_and_logs_labels():
    runner = _disagreeing_runner(with_gt=True)
    MaskAssignmentHook(rule='border').before_val_epoch(runner)
    assert int(runner.model.object_index) == 1
    hub = runner.message_hub
    assert hub.get_scalar('val/assignment/label_choice').current() == 0


def test_border_band_width():
    band = border_band(32, 48)  # 1/16 of 32: two pixels
    assert band.sum() == 32 * 48 - 28 * 44
    assert border_band(8, 8).sum() == 8 * 8 - 6 * 6  # at least one pixel


# ---------------------------------------------------------------------------
# LabelFreeMaskScore
# ---------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def own_message_hub(request):
    """Each test's metrics keep their masks in a message hub of its own
    (the newest instance is mmengine's current one)."""
    MessageHub.get_instance(f'test_label_free_{request.node.name}')


def _prediction(prob: torch.Tensor, name: str) -> dict:
    """An mmseg sample as ReDO's predict() leaves it, without gt."""
    sample = SegDataSample(metainfo=dict(img_path=name))
    logp = torch.stack([1 - prob, prob]).clamp_min(1e-6).log()
    sample.seg_logits = PixelData(data=logp)
    sample.pred_sem_seg = PixelData(data=(prob > 0.5).long()[None])
    return sample.to_dict()


def _evaluate(metric: LabelFreeMaskScore, probs, names=None) -> dict:
    names = names or [f'{i}.jpg' for i in range(len(probs))]
    metric.process({}, [_prediction(p, n) for p, n in zip(probs, names)])
    return metric.evaluate(len(probs))


def _square(top: int, left: int, side: int) -> torch.Tensor:
    mask = torch.zeros(SIZE, SIZE)
    mask[top:top + side, left:left + side] = 1
    return mask


def test_confidence_prefers_committed_masks():
    obj = _square(4, 4, 8)
    confident = _evaluate(LabelFreeMaskScore(), [0.01 + 0.98 * obj])
    unsure = _evaluate(LabelFreeMaskScore(), [0.4 + 0.2 * obj])
    assert confident['lf_confidence'] == pytest.approx(0.98)
    assert unsure['lf_confidence'] == pytest.approx(0.2)


def test_stability_compares_with_the_previous_evaluation():
    metric = LabelFreeMaskScore()
    a, b = _square(4, 4, 8), _square(4, 8, 8)  # overlap 32 of union 96
    first = _evaluate(metric, [a, a], ['x.jpg', 'y.jpg'])
    assert first['lf_stability'] == 0.0  # nothing to compare with yet
    same = _evaluate(metric, [a, a], ['x.jpg', 'y.jpg'])
    assert same['lf_stability'] == pytest.approx(1.0)
    changed = _evaluate(metric, [b, a], ['x.jpg', 'y.jpg'])
    assert changed['lf_stability'] == pytest.approx((32 / 96 + 1) / 2)
    # The score is the product of its three logged factors.
    assert changed['label_free_score'] == pytest.approx(
        changed['lf_confidence'] * changed['lf_stability'] *
        changed['lf_area'])
    assert set(changed) == {
        'lf_confidence', 'lf_stability', 'lf_area', 'label_free_score'
    }


def test_resumed_run_compares_with_the_masks_its_checkpoint_kept(tmp_path):
    """The previous masks travel in the checkpoint's message hub, loadable
    weights-only: a resumed run's first evaluation is not scored 0."""
    a, b = _square(4, 4, 8), _square(4, 8, 8)  # overlap 32 of union 96
    _evaluate(LabelFreeMaskScore(), [a, a], ['x.jpg', 'y.jpg'])
    path = str(tmp_path / 'iter_250.pth')
    torch.save(
        dict(message_hub=MessageHub.get_current_instance().state_dict()),
        path)
    # A new process: a fresh hub, the checkpoint's hub loaded into it (as
    # Runner.resume does), a new metric.
    hub = MessageHub.get_instance(f'resumed_{id(path)}')
    hub.load_state_dict(load_from_local(path)['message_hub'])
    resumed = _evaluate(LabelFreeMaskScore(), [b, a], ['x.jpg', 'y.jpg'])
    assert resumed['lf_stability'] == pytest.approx((32 / 96 + 1) / 2)
    # Without the checkpoint, a run's first evaluation has nothing to
    # compare with.
    MessageHub.get_instance(f'fresh_{id(path)}')
    fresh = _evaluate(LabelFreeMaskScore(), [b, a], ['x.jpg', 'y.jpg'])
    assert fresh['lf_stability'] == 0.0


def test_default_score_prefers_settled_masks_to_moving_confident_ones():
    a, b = _square(4, 4, 8), _square(4, 8, 8)
    settled, moving = LabelFreeMaskScore(), LabelFreeMaskScore()
    _evaluate(settled, [0.2 + 0.6 * a], ['x.jpg'])
    _evaluate(moving, [0.2 + 0.6 * a], ['x.jpg'])
    # Less confident but unchanged, against more confident but moved.
    kept = _evaluate(settled, [0.2 + 0.6 * a], ['x.jpg'])
    moved = _evaluate(moving, [0.01 + 0.98 * b], ['x.jpg'])
    assert moved['lf_confidence'] > kept['lf_confidence']
    assert kept['label_free_score'] > moved['label_free_score']
    assert moved['label_free_score'] == pytest.approx(0.98 * 32 / 96)
    assert kept['label_free_score'] == pytest.approx(0.6)


def test_default_score_rejects_confident_stable_empty_masks():
    metric = LabelFreeMaskScore()
    empty = torch.zeros(SIZE, SIZE)
    _evaluate(metric, [empty], ['x.jpg'])
    collapsed = _evaluate(metric, [empty], ['x.jpg'])
    assert collapsed['lf_confidence'] > 0.9
    assert collapsed['lf_stability'] == pytest.approx(1.0)
    assert collapsed['label_free_score'] == 0.0


def test_area_penalises_empty_and_whole_masks():
    empty, whole = torch.zeros(SIZE, SIZE), torch.ones(SIZE, SIZE)
    scores = _evaluate(
        LabelFreeMaskScore(),
        [empty, whole, _square(4, 4, 8),
         _square(0, 0, 10)])
    assert scores['lf_area'] == pytest.approx(2 / 4)


# ---------------------------------------------------------------------------
# A tiny training run: save_best, the json log, the curves, the tool
# ---------------------------------------------------------------------------
LABEL_FREE_RUN = '''
custom_hooks = [
    dict(type='MaskAssignmentHook', rule='border'),
    dict(type='IterationSeedHook'),
]
val_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(type='ReDOMetric'),
    dict(type='LabelFreeMaskScore'),
]
'''


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    """Work dir of 4 tiny iterations, validated and saved every 2."""
    init_default_scope('mmseg')
    directory = tmp_path_factory.mktemp('label_free_run')
    runner = build_tiny_redo_runner(
        str(directory),
        'run',
        max_iters=4,
        ckpt_interval=2,
        validate=True,
        extra=LABEL_FREE_RUN,
        cfg_options={'default_hooks.checkpoint.save_best': 'label_free_score'})
    runner.train()
    return runner.work_dir


def _validation_records(work_dir: str) -> list:
    scalars, = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(scalars) as f:
        return [r for r in map(json.loads, f) if 'iter' not in r]


def test_save_best_keeps_the_best_label_free_score(tiny_run):
    records = _validation_records(tiny_run)
    assert [r['step'] for r in records] == [2, 4]
    scores = [r['label_free_score'] for r in records]
    best = 2 * (scores.index(max(scores)) + 1)
    assert osp.exists(
        osp.join(tiny_run, f'best_label_free_score_iter_{best}.pth'))
    for record in records:
        # Both choices of the object region, tabulable from the json log.
        assert {
            'assignment/border_choice', 'assignment/label_choice',
            'assignment/agree'
        } <= set(record)
        assert record['assignment/object_index'] == (
            record['assignment/border_choice'])
        assert all(0 <= record[k] <= 1 for k in record if k.startswith('lf_'))


@pytest.mark.slow
def test_plot_curves_draws_the_label_free_score(tiny_run, tmp_path):
    run = run_tool('tools/analysis_tools/plot_curves.py', tiny_run, '--out',
                   tmp_path / 'curves.png')
    assert run.returncode == 0, run.stderr[-3000:]
    _, val = read_scalars(find_scalars(tiny_run))
    records = _validation_records(tiny_run)
    assert val['label_free_score'] == ([2, 4], [
        r['label_free_score'] for r in records
    ])
    assert val['object_iou'][0] == [2, 4]


def test_selection_tool_reproduces_the_runs_validations(tiny_run, tmp_path):
    out = tmp_path / 'selection.json'
    run = run_tool('tools/analysis_tools/label_free_selection.py', tiny_run,
                   '--out', out)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())[tiny_run]
    rows, summary = result['rows'], result['summary']
    assert [row['iter'] for row in rows] == [2, 4]
    # Same regions, score, factors and val IoU as the run's own validations
    # (stability included: checkpoint 4 is compared with checkpoint 2).
    records = _validation_records(tiny_run)
    for row, record in zip(rows, records):
        assert row['border_choice'] == record['assignment/border_choice']
        assert row['label_choice'] == record['assignment/label_choice']
        assert row['val_iou'] == pytest.approx(record['object_iou'])
        for key in ('lf_confidence', 'lf_stability', 'lf_area',
                    'label_free_score'):
            assert row[key] == pytest.approx(record[key]), key
    scores = [r['label_free_score'] for r in records]
    assert summary['label_free_score']['iter'] == 2 * (
        scores.index(max(scores)) + 1)  # the checkpoint save_best kept
    assert summary['val_iou']['gap'] == 0.0
    assert summary['last']['iter'] == 4
    assert '| label_free_score |' in run.stdout


def test_selection_tool_summarises_saved_rows_at_every_stop(tmp_path):
    rows = [
        dict(iter=1000 * (i + 1), val_iou=val_iou, test_iou=test_iou,
             label_free_score=score)
        for i, (val_iou, test_iou, score) in enumerate([(0.5, 0.6, 0.9),
                                                        (0.7, 0.8, 0.5),
                                                        (0.6, 0.7, 0.7)])
    ]
    saved = tmp_path / 'rows.json'
    saved.write_text(json.dumps({'run': {'rows': rows}}))
    out = tmp_path / 'summary.json'
    run = run_tool('tools/analysis_tools/label_free_selection.py', '--rows',
                   saved, '--stops-from', '2000', '--out', out)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(out.read_text())['run']
    summary = results['summary']
    assert summary['val_iou']['iter'] == 2000
    score = summary['label_free_score']
    assert score['iter'] == 1000
    assert score['gap'] == pytest.approx(0.6 - 0.8)
    assert score['val_gap'] == pytest.approx(0.5 - 0.7)
    assert summary['last']['gap'] == pytest.approx(0.7 - 0.8)
    # Stopped at 2000 or at 3000, the score keeps 1000 (0.9 against 0.5
    # and 0.7): -0.2 both times. The last checkpoint: 0 then -0.1.
    stops = results['stops']
    assert stops['label_free_score'] == dict(
        mean=pytest.approx(-0.2), worst=pytest.approx(-0.2),
        worst_stop=2000, stops=2)
    last = stops['last']
    assert last['mean'] == pytest.approx(-0.05)
    assert last['worst'] == pytest.approx(-0.1)
    assert last['worst_stop'] == 3000
    assert "Gap to the val masks' pick" in run.stdout


def test_photo_quality_flags_and_score():
    """Per-photo measures: flags name each failure, the score falls with
    doubt, pieces, an unusual size and border in the object."""
    prob = torch.zeros(32, 32)
    prob[8:24, 8:24] = 0.95  # a confident central object
    good = photo_measures(prob, prob > 0.5)
    assert good['border_share'] == 0 and good['area'] == 0.25
    assert good['largest_share'] == 1
    median = 0.25  # the folder's typical object
    assert quality_flags(good, median) == []
    assert quality_score(good, median) == pytest.approx(good['confidence'])
    unsure = photo_measures(prob * 0.3 + 0.35, prob > 0.5)
    assert 'low_confidence' in quality_flags(unsure, median)
    assert quality_score(unsure, median) < quality_score(good, median)
    rim = prob.clone()
    rim[:, :4] = 0.95  # the object reaches the left edge
    touching = photo_measures(rim, rim > 0.5)
    assert 0 < touching['border_share'] < 0.5
    assert quality_score(touching, median) < quality_score(good, median)
    pieces = prob.clone()
    pieces[8:24, 15:17] = 0.0  # cut in two halves
    pieces[2:4, 2:4] = 0.95
    split = photo_measures(pieces, pieces > 0.5)
    assert split['largest_share'] < 0.5
    assert quality_flags(split, median) == ['fragmented']
    assert quality_score(split, median) < quality_score(good, median)
    # The same mask in a folder of objects 25 times smaller.
    assert quality_flags(good, 0.01) == ['unusual_size']
    assert quality_score(good, 0.01) == pytest.approx(
        good['confidence'] * 0.04)
    frame = torch.full((32, 32), 0.95)
    frame[14:18, 14:18] = 0.05  # a background taken for the object
    framed = photo_measures(frame, frame > 0.5)
    assert quality_flags(framed, median) == ['whole_image', 'touches_border']
    assert quality_score(framed, median) == 0
    empty = photo_measures(torch.full((32, 32), 0.01), torch.zeros(32, 32) > 1)
    assert quality_flags(empty, median) == ['empty', 'unusual_size']
    assert quality_score(empty, median) == 0


def test_worst_caught_counts_the_worst_masks_ranked_first():
    ious = [0.1, 0.2, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.95]
    assert worst_caught(ious, ious, 0.2) == 1.0
    assert worst_caught([-v for v in ious], ious, 0.2) == 0.0
    # One of the two worst (0.1) among the two lowest scores.
    scores = [0.0, 0.9, 0.1, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.95]
    assert worst_caught(scores, ious, 0.2) == 0.5
