"""mmseg's inference APIs on ReDO checkpoints, end to end.

A tiny ReDO (16x16 synthetic images) is trained for 2 iterations with one
validation (which sets ``object_index``); its checkpoint then goes through
``init_model``, ``inference_model`` and ``MMSegInferencer``. One check runs
in a fresh interpreter that imports nothing of mmseg_redo by hand, as a
user's script would. The last test runs the Flowers-17 CPU config on a real
photo and is skipped when the data is absent.
"""
import json
import os.path as osp
import re
import subprocess
import sys

import mmcv
import numpy as np
import pytest
import torch
from conftest import (FLOWERS17, REPO_ROOT, assert_same_decided_pixels,
                      save_untrained_checkpoint, tiny_run_env,
                      write_tiny_redo_config)
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, save_checkpoint
from mmseg.apis import MMSegInferencer, inference_model, init_model

from mmseg_redo.apis import split_images, write_pseudo_labels
from mmseg_redo.datasets.base import OBJECT_METAINFO

#: Photos for inference_model: mmcv's stock loader (inference_model and
#: MMSegInferencer look for it by name), resized as in training, not
#: cropped, as configs/_base_/datasets/flowers17_64x64.py does.
FILE_TEST_PIPELINE = '''
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow',
         color_type='color_ignore_orientation'),
    dict(type='ResizeShorterSide', size=img_size),
    dict(type='PackSegInputs'),
]
'''


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Config, checkpoint and the object region that validation chose."""
    work_dir = tmp_path_factory.mktemp('tiny_run')
    config = write_tiny_redo_config(
        str(work_dir),
        max_iters=2,
        ckpt_interval=2,
        validate=True,
        extra=FILE_TEST_PIPELINE)
    cfg = Config.fromfile(config)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = 'test_inference_tiny'
    Runner.from_cfg(cfg).train()
    log = open(next(work_dir.glob('*/*.log'))).read()
    chosen = re.findall(r'region (\d+) is the object', log)
    assert chosen, 'MaskAssignmentHook did not run'
    return config, str(work_dir / 'iter_2.pth'), int(chosen[-1])


@pytest.fixture(scope='module')
def photo(tmp_path_factory):
    """A non-square 37x23 (WxH) grey photo with a blue square."""
    img = np.full((23, 37, 3), 40, np.uint8)
    img[5:18, 10:28] = (240, 120, 30)  # BGR: blue, so orange paint shows
    path = str(tmp_path_factory.mktemp('photos') / 'photo.png')
    mmcv.imwrite(img, path)
    return path


def test_checkpoint_is_weights_only_and_holds_object_index(trained):
    _, checkpoint, chosen = trained
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    assert int(state['state_dict']['object_index']) == chosen
    assert state['meta']['dataset_meta']['classes'] == ('background', 'object')


SCRIPT = '''
import json, sys
from mmseg.apis import inference_model, init_model
config, checkpoint, photo = sys.argv[1:]
model = init_model(config, checkpoint, device='cpu')
result = inference_model(model, photo)
print(json.dumps(dict(
    object_index=int(model.object_index),
    shape=list(result.pred_sem_seg.shape),
    classes=list(model.dataset_meta['classes']))))
'''


def test_init_model_in_a_fresh_interpreter(trained, photo):
    """No import of mmseg_redo, no torch flag: custom_imports does it all."""
    config, checkpoint, chosen = trained
    env = tiny_run_env()
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    out = subprocess.run(
        [sys.executable, '-c', SCRIPT, config, checkpoint, photo],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == dict(
        object_index=chosen, shape=[23, 37], classes=['background', 'object'])


def test_prediction_is_at_the_photo_size(trained, photo):
    config, checkpoint, _ = trained
    model = init_model(config, checkpoint, device='cpu')
    from_file = inference_model(model, photo)
    assert from_file.pred_sem_seg.shape == (23, 37)
    assert from_file.seg_logits.shape == (23, 37)
    # The network saw the photo resized (shorter side 16), not cropped.
    assert tuple(from_file.img_shape) == (16, 25)
    # Arrays (BGR, as mmcv loads them) give the same prediction.
    from_array = inference_model(model, [mmcv.imread(photo)])[0]
    assert torch.equal(from_file.pred_sem_seg.data,
                       from_array.pred_sem_seg.data)
    assert set(from_file.pred_sem_seg.data.unique().tolist()) <= {0, 1}


def test_object_index_round_trip_decides_the_prediction(
        trained, photo, tmp_path):
    """The loaded object_index is the saved one, and it picks the region."""
    config, checkpoint, chosen = trained
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    state['state_dict']['object_index'].fill_(1 - chosen)
    flipped_path = str(tmp_path / 'flipped.pth')
    save_checkpoint(state, flipped_path)
    model = init_model(config, checkpoint, device='cpu')
    flipped = init_model(config, flipped_path, device='cpu')
    assert int(model.object_index) == chosen
    assert int(flipped.object_index) == 1 - chosen
    a = inference_model(model, photo)
    b = inference_model(flipped, photo)
    # Two regions, masks m and 1 - m: the flipped model's background
    # logits are the first model's object logits, and vice versa.
    torch.testing.assert_close(
        a.seg_logits.data[1], b.seg_logits.data[0], atol=1e-4, rtol=0)
    torch.testing.assert_close(
        a.seg_logits.data[0], b.seg_logits.data[1], atol=1e-4, rtol=0)
    agree = (a.pred_sem_seg.data == 1 - b.pred_sem_seg.data).float().mean()
    assert agree > 0.99


def test_mmseg_inferencer_writes_overlays(trained, photo, tmp_path):
    """MMSegInferencer reads test_dataloader's pipeline: point it at the
    photo pipeline (the evaluation one crops) and give the classes."""
    config, checkpoint, _ = trained
    cfg = Config.fromfile(config)
    cfg.test_dataloader.dataset.pipeline = cfg.test_pipeline
    inferencer = MMSegInferencer(
        cfg,
        weights=checkpoint,
        classes=OBJECT_METAINFO['classes'],
        palette=OBJECT_METAINFO['palette'],
        device='cpu')
    out_dir = str(tmp_path / 'out')
    result = inferencer([photo], out_dir=out_dir, return_vis=True)
    vis_file = osp.join(out_dir, 'vis', 'photo.png')
    # mmseg numbers the prediction files: 00000000_pred.png, ...
    pred_file = osp.join(out_dir, 'pred', '00000000_pred.png')
    assert osp.isfile(vis_file) and osp.isfile(pred_file)
    overlay = mmcv.imread(vis_file)
    assert overlay.shape == (23, 37, 3)
    pred = np.asarray(result['predictions'])
    assert pred.shape == (23, 37)
    np.testing.assert_array_equal(
        mmcv.imread(pred_file, flag='unchanged'), pred)
    # The object is painted in the palette's orange (background is black,
    # which darkens): object pixels come out redder than blue.
    if (pred == 1).any():
        obj = overlay[pred == 1].astype(int)  # BGR
        assert (obj[:, 2] - obj[:, 0]).mean() > 50


@pytest.mark.skipif(
    not osp.isfile(osp.join(FLOWERS17, 'test.txt')),
    reason=f'Flowers-17 not found at {FLOWERS17}')
def test_flowers17_cpu_config_predicts_whole_photos(tmp_path):
    """The shipped CPU config: a 256x256 photo in, a 256x256 mask out."""
    config = osp.join(REPO_ROOT, 'configs', 'redo', 'redo_flowers17_cpu.py')
    checkpoint = save_untrained_checkpoint(
        config, str(tmp_path / 'untrained.pth'), object_index=1)
    loaded = init_model(config, checkpoint, device='cpu')
    assert int(loaded.object_index) == 1
    image = osp.join(FLOWERS17, 'images', 'image_0001.jpg')
    result = inference_model(loaded, image)
    assert result.pred_sem_seg.shape == (256, 256)
    assert tuple(result.img_shape) == (64, 64)


@pytest.mark.skipif(
    not osp.isfile(osp.join(FLOWERS17, 'test.txt')),
    reason=f'Flowers-17 not found at {FLOWERS17}')
def test_pseudo_labels_feed_the_refinement_config(tmp_path):
    """write_pseudo_labels writes 0/1 PNGs that agree with inference_model's
    predictions, and the refinement config's training pipeline reads
    them."""
    config = osp.join(REPO_ROOT, 'configs', 'redo', 'redo_flowers17_cpu.py')
    checkpoint = save_untrained_checkpoint(config,
                                           str(tmp_path / 'untrained.pth'))
    out = tmp_path / 'pseudo'
    cfg = Config.fromfile(config)
    cfg.train_dataloader.dataset.data_root = FLOWERS17
    images = split_images(cfg, 'train')[:3]
    loaded = init_model(config, checkpoint, device='cpu')
    # Three photos in one batch: near-ties may round otherwise than one
    # photo at a time, so only decided pixels are compared.
    written = write_pseudo_labels(
        loaded, images, str(out), batch_size=3)['written']
    train_ids = [
        ln.strip() for ln in open(osp.join(FLOWERS17, 'train.txt'))
        if ln.strip()
    ]
    assert [osp.basename(p)
            for p in written] == [s + '.png' for s in train_ids[:3]]
    for path, stem in zip(written, train_ids):
        label = mmcv.imread(path, flag='unchanged')
        assert label.shape == (256, 256) and label.dtype == np.uint8
        assert set(np.unique(label)) <= {0, 1}
        expected = inference_model(
            loaded, osp.join(FLOWERS17, 'images', stem + '.jpg'))
        assert_same_decided_pixels(label, expected)

    # Confident pixels only: the others are written as ignore (255).
    confident = write_pseudo_labels(
        loaded, images[:1], str(tmp_path / 'confident'),
        min_confidence=0.6)['written']
    label = mmcv.imread(confident[0], flag='unchanged')
    prob = inference_model(loaded, images[0]).seg_logits.data.softmax(
        dim=0)[1].numpy()
    unsure = np.maximum(prob, 1 - prob) < 0.6
    assert unsure.any() and (label[unsure] == 255).all()
    assert (label[np.maximum(prob, 1 - prob) > 0.601] != 255).all()

    refine = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'redo', 'redo_refine_flowers17.py'))
    ann = tmp_path / 'ids.txt'
    ann.write_text('\n'.join(train_ids[:3]) + '\n')
    dataset_cfg = refine.train_dataloader.dataset
    dataset_cfg.update(data_root=FLOWERS17, ann_file=str(ann))
    dataset_cfg.data_prefix.seg_map_path = str(out)
    from mmseg.registry import DATASETS
    dataset = DATASETS.build(dataset_cfg)
    sample = dataset[0]
    gt = sample['data_samples'].gt_sem_seg.data
    assert tuple(gt.shape[-2:]) == (64, 64)
    assert set(np.unique(gt.numpy())) <= {0, 1}
    assert sample['data_samples'].seg_map_path == str(out /
                                                      (train_ids[0] + '.png'))
