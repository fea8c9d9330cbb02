"""GrabCut as a package segmentor: mmseg's APIs and tools/test.py run the
GrabCut configs with no checkpoint and no import beyond the configs'
``custom_imports``."""
import json
import os.path as osp
import subprocess
import sys

import mmcv
import numpy as np
import pytest
from conftest import REPO_ROOT, run_tool, tiny_run_env, write_tiny_redo_config

GRABCUT_CONFIG = osp.join(REPO_ROOT, 'configs', 'baselines',
                          'grabcut_flowers17-64x64.py')
#: GrabCut scored on 8 synthetic 32x32 images (tools/test.py's runner).
SYNTHETIC_GRABCUT = '''
_base_ = [{synthetic!r}, {runtime!r}]
model = dict(
    type='GrabCutSegmentor', margin=0.1, iterations=2,
    data_preprocessor=dict(type='SegDataPreProcessor', bgr_to_rgb=False))
train_dataloader = None
val_dataloader = None
val_evaluator = None
test_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(size=32, num_samples=8, split='test'))
test_cfg = dict(type='TestLoop')
'''


@pytest.fixture
def photo(tmp_path):
    """A 45x70 (HxW) photo: noisy dark background, bright central block."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 60, (45, 70, 3), dtype=np.uint8)
    img[11:34, 17:52] = (30, 140, 250)
    path = str(tmp_path / 'photo.jpg')
    mmcv.imwrite(img, path)
    return path


SCRIPT = '''
import json, sys
import numpy as np
from mmseg.apis import inference_model, init_model
config, photo, out = sys.argv[1:]
model = init_model(config, None, device='cpu')
result = inference_model(model, photo)
np.save(out, result.pred_sem_seg.data[0].numpy())
print(json.dumps(dict(
    type=type(model).__name__,
    params=sum(p.numel() for p in model.parameters()),
    classes=list(model.dataset_meta['classes']))))
'''


@pytest.mark.slow
def test_init_model_and_inference_model_with_the_config_only(photo, tmp_path):
    """A fresh interpreter that imports mmseg.apis only (no mmseg_redo, no
    tools/): the config's custom_imports registers GrabCutSegmentor."""
    out = str(tmp_path / 'mask.npy')
    run = subprocess.run(
        [sys.executable, '-c', SCRIPT, GRABCUT_CONFIG, photo, out],
        env=tiny_run_env(),
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    info = json.loads(run.stdout.strip().splitlines()[-1])
    assert info == dict(
        type='GrabCutSegmentor', params=0, classes=['background', 'object'])
    mask = np.load(out).astype(bool)
    assert mask.shape == (45, 70)
    truth = np.zeros((45, 70), bool)
    truth[11:34, 17:52] = True
    assert (mask & truth).sum() / (mask | truth).sum() > 0.8


@pytest.mark.slow
def test_tools_test_scores_grabcut_without_checkpoint(tmp_path):
    config = tmp_path / 'grabcut_synthetic.py'
    config.write_text(
        SYNTHETIC_GRABCUT.format(
            synthetic=osp.join(REPO_ROOT,
                               'configs/_base_/datasets/synthetic.py'),
            runtime=osp.join(REPO_ROOT, 'configs/_base_/default_runtime.py')))
    run = run_tool(
        'tools/test.py', config, '--work-dir', tmp_path / 'work', timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    log = run.stdout + run.stderr
    assert 'mIoU:' in log and 'object_iou:' in log


@pytest.mark.slow
def test_tools_test_refuses_weights_without_checkpoint(tmp_path):
    """A model with weights and no checkpoint would be scored at its random
    initialisation: tools/test.py stops instead, saying what to give."""
    config = write_tiny_redo_config(str(tmp_path))
    run = run_tool(
        'tools/test.py', config, 'none', '--work-dir', tmp_path / 'work',
        timeout=300)
    assert run.returncode == 1
    assert 'give its trained checkpoint' in run.stderr


def _two_tone_photo() -> np.ndarray:
    """A photo whose object has two parts: an orange top and a bottom of
    the background's own grey, which no colour model tells apart."""
    rng = np.random.default_rng(0)
    img = rng.integers(100, 120, (60, 80, 3)).astype(np.uint8)
    img[15:30, 20:60] = (30, 140, 250)  # BGR orange
    return img


def test_seeds_keep_what_the_box_alone_loses():
    """Seeded GrabCut keeps the object pixels it is told about; without
    seeds the same call is the plain box (same mask as before)."""
    from mmseg_redo.models.grabcut import grabcut_mask
    img = _two_tone_photo()
    plain = grabcut_mask(img)
    np.testing.assert_array_equal(plain, grabcut_mask(img, object_seeds=None))
    seeds = np.zeros(img.shape[:2], bool)
    seeds[32:43, 22:58] = True  # the part like the background
    seeded = grabcut_mask(img, object_seeds=seeds)
    assert seeded[seeds].all() and plain[seeds].mean() < 0.5
    # Seeds outside the box cannot override it: the margin stays outside.
    outside = np.zeros(img.shape[:2], bool)
    outside[:3] = True
    assert not grabcut_mask(img, object_seeds=outside)[:3].any()


def test_refine_with_grabcut_works_at_the_kept_photo():
    """The model's confident pixels seed GrabCut on the kept photo; the
    mask comes back at ori_shape and the logits average both."""
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from mmseg_redo.datasets.transforms import KeepPhoto
    from mmseg_redo.models.grabcut import refine_with_grabcut
    img = _two_tone_photo()
    kept = KeepPhoto(shorter_side=30)(dict(img=img))['photo_img']
    assert kept.shape == (30, 40, 3)
    prob = torch.full((60, 80), 0.2)
    prob[15:45, 20:60] = 0.95  # the model found the whole object
    sample = SegDataSample(metainfo=dict(ori_shape=(60, 80)))
    sample.seg_logits = PixelData(data=torch.stack([1 - prob, prob]).log())
    untouched = sample.clone()
    refine_with_grabcut(untouched)  # no photo kept: left as it is
    assert torch.equal(untouched.seg_logits.data, sample.seg_logits.data)
    sample.set_metainfo(dict(photo_img=kept))
    refine_with_grabcut(sample)
    mask = sample.pred_sem_seg.data[0]
    assert mask.shape == (60, 80)
    truth = torch.zeros(60, 80, dtype=torch.bool)
    truth[15:45, 20:60] = True
    iou = (mask.bool() & truth).sum() / (mask.bool() | truth).sum()
    assert iou > 0.8
    refined = sample.seg_logits.data.softmax(dim=0)[1]
    torch.testing.assert_close(refined, (prob + mask) / 2)
    assert torch.equal(refined.gt(0.5).long(), mask.long())


def test_a_batch_fitted_on_several_threads_gives_each_photos_own_mask():
    """The batch's photos are fitted in threads; each keeps the mask it
    gets alone (its own RNG seed, no mix-up of the order)."""
    import torch
    from mmseg_redo.models.grabcut import GrabCutSegmentor, grabcut_mask
    rng = np.random.default_rng(1)
    images = rng.integers(0, 60, (4, 40, 48, 3), dtype=np.uint8)
    for i, image in enumerate(images):  # a block that moves, per photo
        image[8 + 3 * i:30, 10:30 + 3 * i] = (30, 140, 250)
    model = GrabCutSegmentor(iterations=2)
    threads = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        logits = model.encode_decode(
            torch.from_numpy(images).permute(0, 3, 1, 2).float(), [{}] * 4)
    finally:
        torch.set_num_threads(threads)
    for image, obj in zip(images, logits[:, 1].numpy()):
        assert (obj == grabcut_mask(image, iterations=2)).all()
