"""learn_folder: a folder of photos to a student's masks in one resumable
call (teacher labels, student training, segment_folder)."""
import importlib
import json
import os
import os.path as osp

from glob import glob

import cv2
import numpy as np
import pytest
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner

from mmseg_redo.apis import UsageError, learn_folder

# The module, not the function the package exports under its name.
learn_folder_module = importlib.import_module('mmseg_redo.apis.learn_folder')

from conftest import REPO_ROOT, run_tool
from test_student import (NUM_PHOTOS, TINY_LOADERS, iou, object_mask,
                          write_folder)

#: The student shrunk as test_student.py shrinks it, to a few seconds.
TINY_STUDENT = {
    **TINY_LOADERS,
    'train_cfg.max_iters': 30,
    'train_cfg.val_interval': 30,
    'param_scheduler.0.end': 30,
    'default_hooks.checkpoint.interval': 10,
}
#: The folder's ReDO config at 16x16 with networks a few channels wide
#: (as tests/test_datasets/test_image_folder.py shrinks it), 4 iterations.
TINY_REDO = '''
_base_ = [{base!r}]
from mmseg_redo.utils.config import pipeline_at_size  # noqa: E402
model = dict(
    z_dim=4,
    mask_net=dict(
        encoder=dict(channels=8, num_res_blocks=1),
        head=dict(in_channels=8, channels=8, pool_scales=(1, 2),
                  norm_cfg=dict(type='GN', num_groups=4))),
    region_generators=dict(
        generator=dict(img_size=16, z_dim=4, base_channels=4)),
    discriminator=dict(base_channels=4, num_down_blocks=2),
    z_encoder=dict(out_features=8, base_channels=4, num_down_blocks=2))
loader = dict(batch_size=4, num_workers=0, persistent_workers=False)
train_dataloader = dict(
    **loader,
    dataset=dict(pipeline=pipeline_at_size(_base_.train_pipeline, 16)))
val_dataloader = dict(
    **loader,
    dataset=dict(pipeline=pipeline_at_size(_base_.eval_pipeline, 16)))
train_cfg = dict(max_iters=4, val_interval=4)
default_hooks = dict(
    checkpoint=dict(interval=4), redraw=dict(interval=4))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
'''


class Killed(Exception):
    """A kill of the run, simulated."""


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    """24 photos: an orange block (``object_mask``) on dark noise."""
    return write_folder(tmp_path_factory.mktemp('folder'))[0]


def journal(work_dir: str) -> dict:
    with open(osp.join(work_dir, 'learn_folder.json')) as f:
        return json.load(f)


def drop_stages(work_dir: str, *stages: str) -> None:
    """As if a kill came before these stages were journalled."""
    record = journal(work_dir)
    for stage in stages:
        del record['stages'][stage]
    with open(osp.join(work_dir, 'learn_folder.json'), 'w') as f:
        json.dump(record, f)


def read(path: str) -> np.ndarray:
    return cv2.imread(path, cv2.IMREAD_GRAYSCALE)


def count_labelled(monkeypatch) -> list:
    """The images each write_pseudo_labels call gets, recorded."""
    calls, original = [], learn_folder_module.write_pseudo_labels

    def counted(model, images, *args, **kwargs):
        calls.append(list(images))
        return original(model, images, *args, **kwargs)

    monkeypatch.setattr(learn_folder_module, 'write_pseudo_labels', counted)
    return calls


@pytest.mark.slow
def test_grabcut_teacher_resumes_after_kills_and_masks_the_block(
        photos, tmp_path, monkeypatch):
    work = str(tmp_path / 'work')
    labels = osp.join(work, 'labels_grabcut')
    options = dict(student_cfg_options=TINY_STUDENT, num_workers=0,
                   progress=False)

    # Killed in the student stage, right after its checkpoint of iter 20.
    save = CheckpointHook.after_train_iter

    def save_then_kill(self, runner, *args, **kwargs):
        save(self, runner, *args, **kwargs)
        if runner.iter + 1 == 20:
            raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(CheckpointHook, 'after_train_iter', save_then_kill)
        with pytest.raises(Killed):
            learn_folder(photos, work, **options)
    assert list(journal(work)['stages']) == ['grabcut_labels']
    assert len(os.listdir(labels)) == NUM_PHOTOS
    with open(osp.join(work, 'student', 'last_checkpoint')) as f:
        assert f.read().endswith('iter_20.pth')

    # And, as if killed in the labels' stage too: its entry gone, two of
    # its labels not written yet.
    drop_stages(work, 'grabcut_labels')
    for name in ('p03.png', 'p07.png'):
        os.remove(osp.join(labels, name))
    kept = {n: os.stat(osp.join(labels, n)).st_mtime_ns
            for n in os.listdir(labels)}

    labelled = count_labelled(monkeypatch)
    resumed_from, resume = [], Runner.resume
    monkeypatch.setattr(
        Runner, 'resume',
        lambda self, path, *a, **k: (resumed_from.append(path),
                                     resume(self, path, *a, **k)))
    result = learn_folder(photos, work, **options)
    # Only the two missing labels were made; the student went on from 20.
    assert [[osp.basename(p) for p in call] for call in labelled] == [
        ['p03.jpg', 'p07.jpg']]
    assert {n: os.stat(osp.join(labels, n)).st_mtime_ns
            for n in kept} == kept
    assert [osp.basename(p) for p in resumed_from] == ['iter_20.pth']
    record = journal(work)
    assert list(record['stages']) == ['grabcut_labels', 'student', 'masks']
    assert record['settings']['teacher'] == 'grabcut'
    assert result['outputs']['student'].endswith('iter_30.pth')
    assert set(result['seconds']) == {'grabcut_labels', 'student', 'masks'}
    assert len(result['summary']['done']) == NUM_PHOTOS

    # A mask per photo, at its size, following the block (an untrained
    # student's do not).
    masks = osp.join(work, 'masks', 'masks')
    ious = [
        iou(read(osp.join(masks, f'p{seed:02d}.png')) > 127,
            object_mask(seed) == 1) for seed in range(NUM_PHOTOS)
    ]
    assert np.mean(ious) > 0.8, ious

    # Killed after the student's last checkpoint, before the journal said
    # so: the rerun trains nothing and segments no photo again.
    drop_stages(work, 'student', 'masks')
    monkeypatch.setattr(Runner, 'from_cfg', None)
    again = learn_folder(photos, work, **options)
    assert len(labelled) == 1 and again['outputs'] == result['outputs']
    assert not again['summary']['done']
    assert len(again['summary']['skipped']) == NUM_PHOTOS
    # Finished: a rerun does nothing.
    assert learn_folder(photos, work, **options)['summary'] is None

    # Another teacher in this work dir would mix two runs' outputs.
    with pytest.raises(UsageError, match=r"teacher 'grabcut'.*--work-dir"):
        learn_folder(photos, work, teacher='agree', **options)


@pytest.mark.slow
def test_agree_teacher_trains_redo_and_ignores_disagreement(
        photos, tmp_path):
    redo_config = tmp_path / 'tiny_redo.py'
    redo_config.write_text(
        TINY_REDO.format(
            base=osp.join(REPO_ROOT, 'configs', 'redo',
                          'redo_image_folder_cpu.py')))
    work = str(tmp_path / 'work')
    result = learn_folder(
        photos, work, teacher='agree', redo_config=str(redo_config),
        student_cfg_options={**TINY_STUDENT, 'train_cfg.max_iters': 2,
                             'train_cfg.val_interval': 2,
                             'default_hooks.checkpoint.interval': 2},
        num_workers=0, progress=False)
    assert list(journal(work)['stages']) == [
        'redo', 'grabcut_labels', 'redo_labels', 'student', 'masks']
    # ReDO's best checkpoint by its label-free score is the teacher.
    assert osp.basename(result['outputs']['redo']) == \
        'best_label_free_score_iter_4.pth'
    assert osp.isfile(result['outputs']['redo'])

    # ReDO's labels, kept only where GrabCut's agree.
    disagree = 0
    for name in sorted(os.listdir(osp.join(work, 'labels_grabcut'))):
        redo = read(osp.join(work, 'labels_redo', name))
        grabcut = read(osp.join(work, 'labels_grabcut', name))
        assert set(np.unique(redo)) <= {0, 1, 255}
        kept = redo != 255
        assert np.array_equal(redo[kept], grabcut[kept])
        disagree += (~kept).sum()
    assert disagree > 0
    # The student learnt from them.
    with open(osp.join(work, 'student',
                       'student_unet_image_folder_cpu.py')) as f:
        assert osp.join(work, 'labels_redo') in f.read()
    assert len(result['summary']['done']) == NUM_PHOTOS
    # Two runners in one process, each logging into its own work dir.
    for stage, mine, other in (('redo', 'label_free_score', 'mIoU'),
                               ('student', 'mIoU', 'label_free_score')):
        scalars, = glob(osp.join(work, stage, '*', 'vis_data',
                                 'scalars.json'))
        with open(scalars) as f:
            keys = set().union(*map(json.loads, f))
        assert mine in keys and other not in keys, stage


def test_bad_input_is_refused_before_any_work(photos, tmp_path):
    with pytest.raises(UsageError, match="teacher 'gc'.*grabcut"):
        learn_folder(photos, str(tmp_path / 'w'), teacher='gc')
    with pytest.raises(UsageError, match='nowhere does not exist'):
        learn_folder(str(tmp_path / 'nowhere'), str(tmp_path / 'w'))
    with pytest.raises(UsageError, match='inside the input folder'):
        learn_folder(photos, osp.join(photos, 'work'))
    few = tmp_path / 'few'
    few.mkdir()
    for i in range(3):
        cv2.imwrite(str(few / f'{i}.jpg'), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(UsageError, match='at least 20'):
        learn_folder(str(few), str(tmp_path / 'w'))
    with pytest.raises(UsageError, match='config nope.py does not exist'):
        learn_folder(photos, str(tmp_path / 'w'), student_config='nope.py')
    assert not osp.exists(tmp_path / 'w')


@pytest.mark.slow
def test_command_line_names_the_bad_folder(tmp_path):
    run = run_tool('tools/learn_folder.py', tmp_path / 'nowhere',
                   '--work-dir', tmp_path / 'w', '--teacher', 'agree')
    assert run.returncode == 1
    assert run.stderr.strip().endswith(
        f'learn_folder.py: error: input folder {tmp_path / "nowhere"} does '
        'not exist or is not a folder; give the folder holding the photos')


def test_teacher_is_the_newest_best_checkpoint_else_the_last(tmp_path):
    last = str(tmp_path / 'iter_12.pth')
    assert learn_folder_module._best_checkpoint(last) == last
    for name in ('best_label_free_score_iter_9.pth',
                 'best_label_free_score_iter_10.pth'):
        (tmp_path / name).touch()
    assert learn_folder_module._best_checkpoint(last) == str(
        tmp_path / 'best_label_free_score_iter_10.pth')
