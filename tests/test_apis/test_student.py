"""The self-training stage's student: an mmseg segmentor trained on a
folder's pseudo-labels, then used through mmseg's APIs and segment_folder."""
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.apis import MMSegInferencer, inference_model

from mmseg_redo.apis import init_folder_model, segment_folder
from mmseg_redo.datasets.image_folder import output_names

from conftest import REPO_ROOT, run_tool

STUDENT = osp.join(REPO_ROOT, 'configs', 'redo',
                   'student_unet_image_folder_cpu.py')
NUM_PHOTOS = 24
SIZE = 96
#: Small batches loaded in the test's process: the student's tests (here
#: and test_learn_folder.py) train for seconds.
TINY_LOADERS = {
    'train_dataloader.batch_size': 4,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'val_dataloader.num_workers': 0,
    'val_dataloader.persistent_workers': False,
}


def object_mask(seed: int) -> np.ndarray:
    """Where the seed's photo holds its object: a block that moves."""
    rng = np.random.default_rng(seed)
    top, left = rng.integers(8, 40, size=2)
    mask = np.zeros((SIZE, SIZE), dtype=np.uint8)
    mask[top:top + 48, left:left + 48] = 1
    return mask


def write_folder(root) -> str:
    """Photos (an orange block on dark noise) and their labels, named as
    ``make_pseudo_labels.py --folder`` names them."""
    photos, labels = root / 'photos', root / 'labels'
    photos.mkdir()
    labels.mkdir()
    rels = [f'p{i:02d}.jpg' for i in range(NUM_PHOTOS)]
    names = output_names(rels)
    for seed, rel in enumerate(rels):
        rng = np.random.default_rng(100 + seed)
        img = rng.integers(0, 60, (SIZE, SIZE, 3), dtype=np.uint8)
        mask = object_mask(seed)
        img[mask == 1] = (30, 140, 250)  # BGR
        cv2.imwrite(str(photos / rel), img)
        cv2.imwrite(str(labels / names[rel]), mask)
    return str(photos), str(labels)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.slow
def test_student_learns_the_labels_and_serves_mmseg_and_folders(tmp_path):
    photos, labels = write_folder(tmp_path)
    work_dir = str(tmp_path / 'student')
    options = {**TINY_LOADERS, 'train_cfg.max_iters': 60,
               'train_cfg.val_interval': 60, 'param_scheduler.0.end': 60,
               'default_hooks.checkpoint.interval': 60, 'randomness.seed': 0}
    run = run_tool(
        'tools/train.py', STUDENT, '--work-dir', work_dir, '--data-root',
        photos, '--cfg-options',
        f'train_dataloader.dataset.seg_map_dir={labels}',
        f'val_dataloader.dataset.seg_map_dir={labels}',
        *(f'{key}={value}' for key, value in options.items()))
    assert run.returncode == 0, run.stderr[-3000:]
    checkpoint = osp.join(work_dir, 'iter_60.pth')
    assert osp.isfile(checkpoint)

    # mmseg's own inference: the mask comes back at the photo's size and
    # follows the labelled block (an untrained student does not).
    init_default_scope('mmseg')
    model = init_folder_model(STUDENT, checkpoint, 'cpu')
    for seed in (0, 5, 11):
        result = inference_model(model, osp.join(photos, f'p{seed:02d}.jpg'))
        pred = result.pred_sem_seg.data[0].numpy() == 1
        assert pred.shape == (SIZE, SIZE)
        assert iou(pred, object_mask(seed) == 1) > 0.7

    # mmseg's inferencer reads the photo pipeline from test_dataloader,
    # which a folder's config has not (no masks to test on): given it, the
    # student serves as any mmseg model.
    cfg = Config.fromfile(STUDENT)
    cfg.test_dataloader = dict(dataset=dict(pipeline=cfg.test_pipeline))
    inferencer = MMSegInferencer(
        cfg, weights=checkpoint, classes=('background', 'object'),
        palette=[[0, 0, 0], [255, 255, 255]], device='cpu')
    result = inferencer(osp.join(photos, 'p11.jpg'), return_datasamples=True)
    assert iou(result.pred_sem_seg.data[0].numpy() == 1,
               object_mask(11) == 1) > 0.7

    # The folder command writes its masks with it, at the photos' size.
    out = str(tmp_path / 'out')
    summary = segment_folder(model, photos, out, progress=False)
    assert len(summary['done']) == NUM_PHOTOS and not summary['failed']
    mask = cv2.imread(osp.join(out, 'masks', 'p05.png'), cv2.IMREAD_GRAYSCALE)
    assert mask.shape == (SIZE, SIZE)
    assert iou(mask > 127, object_mask(5) == 1) > 0.7
