"""Tests of tools/segment_folder.py: masks, cut-outs and a contact sheet of
every photo under a folder.

A folder of generated photos (nested folders, mixed formats, sizes and
aspect ratios, a grayscale and an RGBA photo, two names that collide, a
truncated JPEG, a text file named .JPG, hidden files) goes through a tiny
untrained ReDO and through the shipped GrabCut config.
"""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import cv2
import mmcv
import numpy as np
import pytest
import torch
from conftest import (REPO_ROOT, save_untrained_checkpoint, tiny_run_env,
                      write_tiny_redo_config)
from mmengine.registry import init_default_scope
from mmseg.apis import inference_model, init_model

import mmseg_redo  # noqa: F401

TOOL = osp.join(REPO_ROOT, 'tools', 'segment_folder.py')
GRABCUT_CONFIG = osp.join(REPO_ROOT, 'configs', 'baselines',
                          'grabcut_flowers17-64x64.py')
#: Photos for the tiny ReDO: shorter side to 16, not cropped (as
#: tests/test_inference.py).
PHOTO_PIPELINE = '''
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow',
         color_type='color_ignore_orientation'),
    dict(type='ResizeShorterSide', size=img_size),
    dict(type='PackSegInputs'),
]
'''
#: Relative path -> (height, width, channels) of the readable photos.
#: Shorter side 16 groups them as 16x21 (a.jpg, a.png, c.bmp), 16x16
#: (d.tiff, gray.png) and three sizes of one photo each.
PHOTOS = {
    'a.jpg': (48, 64, 3),
    'a.png': (48, 64, 3),  # same stem as a.jpg
    'sub/b.PNG': (64, 40, 3),
    'sub/deeper/c.bmp': (48, 64, 3),
    'sub/d.tiff': (50, 50, 3),
    'e.webp': (40, 56, 3),
    'gray.png': (40, 40, 1),
    'rgba.png': (36, 52, 4),
}
BROKEN = ['broken/not_an_image.JPG', 'broken/truncated.jpg']


def load_tool():
    """Import tools/segment_folder.py as a module."""
    spec = importlib.util.spec_from_file_location('segment_folder', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def object_box(height: int, width: int) -> tuple:
    """Rows and columns of the drawn object: the central half."""
    return (slice(height // 4,
                  3 * height // 4), slice(width // 4, 3 * width // 4))


def make_photo(height: int, width: int, channels: int,
               seed: int) -> np.ndarray:
    """A noisy dark background with a bright orange block in the middle."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 60, (height, width, 3), dtype=np.uint8)
    img[object_box(height, width)] = (30, 140, 250)  # BGR
    if channels == 1:
        return mmcv.bgr2gray(img)
    if channels == 4:
        alpha = rng.integers(0, 256, (height, width, 1), dtype=np.uint8)
        return np.concatenate([img, alpha], axis=2)
    return img


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    """The photo folder: readable photos, two broken files, a .txt and
    hidden files."""
    root = tmp_path_factory.mktemp('photos')
    for seed, (rel, shape) in enumerate(PHOTOS.items()):
        os.makedirs(root / osp.dirname(rel), exist_ok=True)
        # The suffix picks the format, whatever its case.
        ok, data = cv2.imencode(
            osp.splitext(rel)[1].lower(), make_photo(*shape, seed=seed))
        assert ok, rel
        (root / rel).write_bytes(data.tobytes())
    os.makedirs(root / 'broken')
    whole = (root / 'a.jpg').read_bytes()
    (root / BROKEN[1]).write_bytes(whole[:len(whole) // 2])
    (root / BROKEN[0]).write_text('not a photo\n')
    (root / 'notes.txt').write_text('ignored: not an image suffix\n')
    # Hidden: ignored (macOS' companion files carry the photo's suffix).
    (root / '._a.jpg').write_bytes(b'\x00\x05\x16\x07')
    os.makedirs(root / '.thumbnails')
    (root / '.thumbnails' / 'a.jpg').write_bytes(whole)
    return str(root)


@pytest.fixture(scope='module')
def tiny_redo(tmp_path_factory):
    """A tiny ReDO config and an untrained checkpoint of it."""
    init_default_scope('mmseg')
    tmp = tmp_path_factory.mktemp('tiny_redo')
    config = write_tiny_redo_config(str(tmp), extra=PHOTO_PIPELINE)
    checkpoint = save_untrained_checkpoint(
        config, str(tmp / 'tiny.pth'), object_index=1)
    return config, checkpoint


def read(path: str) -> np.ndarray:
    return mmcv.imread(path, flag='unchanged', backend='pillow')


def decoded(path: str) -> np.ndarray:
    """The photo as the configs' loader decodes it (BGR)."""
    return mmcv.imread(path, flag='color_ignore_orientation', backend='pillow')


def test_output_names_keep_colliding_photos_apart():
    assert tool.output_names(['x/a.jpg', 'x/a.png', 'b.JPG']) == {
        'x/a.jpg': 'x/a.jpg.png',
        'x/a.png': 'x/a.png.png',
        'b.JPG': 'b.png'
    }


def test_group_by_size_batches_one_size_with_bounded_memory():
    shapes = [(3, 4, 5), (3, 5, 4), (3, 4, 5), (3, 6, 6), (3, 4, 5), (3, 5, 4),
              (3, 7, 7), (3, 8, 8), (3, 4, 5), (3, 4, 5)]
    samples = [
        dict(index=i, inputs=torch.zeros(s)) for i, s in enumerate(shapes)
    ]
    read_so_far = []

    def reading():
        for sample in samples:
            read_so_far.append(sample)
            yield sample

    batches, emitted = [], 0
    for batch in tool.group_by_size(reading(), batch_size=3, max_pending=5):
        assert len({tuple(s['inputs'].shape) for s in batch}) == 1
        assert 1 <= len(batch) <= 3
        # Never more than max_pending photos held at once.
        assert len(read_so_far) - emitted <= 5
        emitted += len(batch)
        batches.append([s['index'] for s in batch])
    assert sorted(i for b in batches for i in b) == list(range(len(shapes)))
    # The first three 4x5 photos made one full batch; at the eighth photo
    # five were held, so the fullest group (two 5x4) went out unfilled.
    assert batches[:2] == [[0, 2, 4], [1, 5]]


def test_masks_cutouts_and_sheet_of_a_folder(photos, tiny_redo, tmp_path):
    config, checkpoint = tiny_redo
    out = str(tmp_path / 'out')
    summary = tool.main([
        config, checkpoint, photos, '--out', out, '--device', 'cpu',
        '--batch-size', '4', '--num-workers', '2'
    ])
    assert sorted(summary['done']) == sorted(PHOTOS)
    assert summary['skipped'] == []
    assert sorted(summary['failed']) == BROKEN
    for rel, error in summary['failed'].items():
        assert error  # the decoder's message comes with the name

    model = init_model(config, checkpoint, device='cpu')
    names = tool.output_names(list(PHOTOS))
    for rel, (height, width, channels) in PHOTOS.items():
        mask = read(osp.join(out, 'masks', names[rel]))
        cut = read(osp.join(out, 'cutouts', names[rel]))
        assert mask.shape == (height, width), rel
        assert set(np.unique(mask)) <= {0, 255}, rel
        assert cut.shape == (height, width, 4), rel
        np.testing.assert_array_equal(cut[..., 3], mask, err_msg=rel)
        # Colours: the photo as the config decodes it (grey repeated in
        # B, G and R; the RGBA photo's own alpha dropped).
        photo = decoded(osp.join(photos, rel))
        np.testing.assert_array_equal(cut[..., :3], photo, err_msg=rel)
        # Batched by size, the masks are inference_model's, photo by photo.
        expected = inference_model(model, osp.join(photos, rel))
        np.testing.assert_array_equal(
            mask // 255, expected.pred_sem_seg.data[0].numpy(), err_msg=rel)
    written = [n for _, _, names in os.walk(out) for n in names]
    assert len(written) == 2 * len(PHOTOS) + 1  # no temporary file left

    sheet = summary['contact_sheet']
    assert sheet['shown'] == len(PHOTOS) == sheet['finished']
    image = read(sheet['path'])
    # One row of 8 captioned cells: the 8 photos.
    assert image.shape == (tool.THUMB_SIZE + tool.CAPTION_HEIGHT + 4,
                           8 * (tool.THUMB_SIZE + 4), 3)


def test_rerun_skips_finished_photos_only(photos, tiny_redo, tmp_path,
                                          monkeypatch):
    """A run killed while writing leaves no finished-looking output; the
    rerun does what is missing and nothing else."""
    config, checkpoint = tiny_redo
    out = str(tmp_path / 'out')
    argv = [config, checkpoint, photos, '--out', out, '--num-workers', '0']
    real_replace = os.replace
    calls = []

    def dies_on_sixth_write(src, dst):
        calls.append(dst)
        if len(calls) == 6:
            raise KeyboardInterrupt  # killed while writing
        real_replace(src, dst)

    monkeypatch.setattr(os, 'replace', dies_on_sixth_write)
    with pytest.raises(KeyboardInterrupt):
        tool.main(argv)
    monkeypatch.setattr(os, 'replace', real_replace)
    # Two photos finished (mask + cut-out), the third has its mask only: its
    # cut-out, being written when the run died, never appeared.
    assert not osp.exists(calls[5]) and osp.exists(calls[4])
    leftovers = [
        n for _, _, names in os.walk(out) for n in names if '.part' in n
    ]
    assert leftovers == []

    names = tool.output_names(list(PHOTOS))
    finished = {
        rel
        for rel in PHOTOS if osp.isfile(osp.join(out, 'masks', names[rel]))
        and osp.isfile(osp.join(out, 'cutouts', names[rel]))
    }
    assert len(finished) == 2
    second = tool.main(argv)
    assert sorted(second['skipped']) == sorted(finished)
    assert sorted(second['done']) == sorted(set(PHOTOS) - finished)
    assert sorted(second['failed']) == BROKEN

    mtimes = {
        rel: os.stat(osp.join(out, 'masks', names[rel])).st_mtime_ns
        for rel in PHOTOS
    }
    third = tool.main(argv)
    assert third['done'] == [] and sorted(third['skipped']) == sorted(PHOTOS)
    assert sorted(third['failed']) == BROKEN  # broken files are retried
    assert mtimes == {
        rel: os.stat(osp.join(out, 'masks', names[rel])).st_mtime_ns
        for rel in PHOTOS
    }
    assert third['contact_sheet']['shown'] == len(PHOTOS)


def test_grabcut_config_needs_no_checkpoint(photos, tmp_path):
    """The shipped GrabCut config, no checkpoint: the masks find the drawn
    object at each photo's own size."""
    out = str(tmp_path / 'out')
    summary = tool.main(
        [GRABCUT_CONFIG, photos, '--out', out, '--num-workers', '0'])
    assert sorted(summary['done']) == sorted(PHOTOS)
    names = tool.output_names(list(PHOTOS))
    for rel, (height, width, _) in PHOTOS.items():
        mask = read(osp.join(out, 'masks', names[rel])) > 0
        truth = np.zeros((height, width), bool)
        truth[object_box(height, width)] = True
        iou = (mask & truth).sum() / (mask | truth).sum()
        assert iou > 0.8, (rel, iou)


@pytest.mark.parametrize('case, message', [
    ('config', 'config .* does not exist'),
    ('checkpoint', 'checkpoint .* does not exist'),
    ('in_dir', 'input folder .* does not exist'),
    ('empty', 'no image'),
    ('out_inside', 'inside the input folder'),
    ('no_checkpoint', 'builds a model with weights'),
])
def test_bad_input_names_the_file_and_the_fix(case, message, photos, tiny_redo,
                                              tmp_path):
    config, checkpoint = tiny_redo
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'notes.txt').write_text('no photo here\n')
    argv = dict(
        config=[str(tmp_path / 'nope.py'), checkpoint, photos],
        checkpoint=[config, str(tmp_path / 'nope.pth'), photos],
        in_dir=[config, checkpoint,
                str(tmp_path / 'nowhere')],
        empty=[config, checkpoint, str(empty)],
        out_inside=[config, checkpoint, photos],
        no_checkpoint=[config, photos],
    )[case]
    out = osp.join(photos, 'sub', 'out') if case == 'out_inside' else str(
        tmp_path / 'out')
    with pytest.raises(tool.UsageError, match=message):
        tool.main(argv + ['--out', out, '--num-workers', '0'])


def test_command_line(photos, tmp_path):
    """As a script: 'none' for the checkpoint, failures named in the
    summary and in the exit status, usage errors without a traceback."""
    out = str(tmp_path / 'out')
    run = subprocess.run([
        sys.executable, TOOL, GRABCUT_CONFIG, 'none', photos, '--out', out,
        '--num-workers', '1', '--cfg-options', 'model.iterations=1'
    ],
                         env=tiny_run_env(),
                         cwd=REPO_ROOT,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert run.returncode == 1, run.stderr[-3000:]
    assert f'done {len(PHOTOS)}, skipped 0 (already finished), failed 2' \
        in run.stdout
    for rel in BROKEN:
        assert f'failed: {rel}: ' in run.stdout
    assert 'images/s' in run.stdout
    assert osp.isfile(osp.join(out, 'contact_sheet.png'))

    bad = subprocess.run([
        sys.executable, TOOL, GRABCUT_CONFIG, photos, '--out',
        osp.join(photos, 'out')
    ],
                         env=tiny_run_env(),
                         cwd=REPO_ROOT,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert bad.returncode == 1
    assert 'inside the input folder' in bad.stderr
    assert 'Traceback' not in bad.stderr
