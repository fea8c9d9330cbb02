"""Tests of mmseg_redo.apis.segment_folder and tools/segment_folder.py:
masks, cut-outs, thumbnails, quality scores, a review page and a contact
sheet of every photo under a folder, resumable, split across processes.

A folder of generated photos (nested folders, mixed formats, sizes and
aspect ratios, a grayscale and an RGBA photo, two names that collide, a
truncated JPEG, a text file named .JPG, hidden files) goes through a tiny
untrained ReDO and through the shipped GrabCut config.
"""
import csv
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import mmcv
import numpy as np
import pytest
import torch
from conftest import (REPO_ROOT, assert_same_decided_pixels, run_tool,
                      save_untrained_checkpoint, tiny_run_env,
                      write_tiny_redo_config)
from mmengine.registry import init_default_scope
from mmseg.apis import inference_model

from mmseg_redo.apis import (UsageError, group_by_size, init_folder_model,
                             output_names, segment_folder)
from mmseg_redo.apis.folder_journal import JOURNAL_DIR, share_of
from mmseg_redo.evaluation import FLAGS

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


def read_scores(out: str) -> dict:
    """scores.csv as {photo: row}, and its photos in file order."""
    with open(osp.join(out, 'scores.csv'), newline='') as f:
        rows = list(csv.DictReader(f))
    return {row['photo']: row for row in rows}, [row['photo'] for row in rows]


def journal_records(out: str) -> list:
    folder = osp.join(out, JOURNAL_DIR)
    records = []
    for name in os.listdir(folder):
        with open(osp.join(folder, name)) as f:
            records += [json.loads(line) for line in f]
    return records


def test_output_names_keep_colliding_photos_apart():
    assert output_names(['x/a.jpg', 'x/a.png', 'b.JPG']) == {
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
    for batch in group_by_size(reading(), batch_size=3, max_pending=5):
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


def test_masks_cutouts_scores_and_review_page(photos, tiny_redo, tmp_path):
    config, checkpoint = tiny_redo
    out = str(tmp_path / 'out')
    model = init_folder_model(config, checkpoint)
    summary = segment_folder(
        model, photos, out, batch_size=4, num_workers=2, progress=False)
    assert summary['done'] == sorted(PHOTOS)
    assert summary['skipped'] == []
    assert sorted(summary['failed']) == BROKEN
    for rel, error in summary['failed'].items():
        assert error  # the decoder's message comes with the name

    names = output_names(list(PHOTOS))
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
        # Batched by size, the masks are inference_model's, photo by photo
        # (near-ties left out: batching changes the last bits).
        assert_same_decided_pixels(
            mask, inference_model(model, osp.join(photos, rel)))
        thumb = read(osp.join(out, 'thumbs', names[rel][:-4] + '.jpg'))
        assert max(thumb.shape[:2]) == 160 and thumb.shape[2] == 3

    by_photo, order = read_scores(out)
    assert sorted(by_photo) == sorted(list(PHOTOS) + BROKEN)
    finished = [p for p in order if p in PHOTOS]
    scores = [float(by_photo[p]['score']) for p in finished]
    assert scores == sorted(scores)  # worst first, then the failed files
    assert order[-2:] == sorted(BROKEN)
    for rel in PHOTOS:
        row = by_photo[rel]
        assert 0 <= float(row['confidence']) <= 1
        area = float(row['area'])
        mask = read(osp.join(out, 'masks', names[rel])) > 0
        assert area == pytest.approx(mask.mean(), abs=1e-4)
        assert row['flags'].split() == [f for f in FLAGS if row[f] == '1']
        assert ('empty' in row['flags']) == (area < 0.05)
        assert row['mask'] == osp.join('masks', names[rel])
    for rel in BROKEN:
        assert by_photo[rel]['error'] and not by_photo[rel]['score']

    report = summary['report']
    assert report['finished'] == len(PHOTOS) == report['shown']
    page = open(report['index'], encoding='utf-8').read()
    assert 'review_data.js' in page
    data = open(osp.join(out, 'review_data.js'), encoding='utf-8').read()
    assert all(json.dumps(rel)[1:-1] in data for rel in PHOTOS)
    sheet = read(report['contact_sheet'])
    assert sheet.ndim == 3 and sheet.shape[1] > 8 * 160
    # No temporary file left: per photo a mask, a cut-out and a thumbnail;
    # the folder's scores, page, page data and sheet; one journal.
    written = [n for _, _, names in os.walk(out) for n in names]
    assert len(written) == 3 * len(PHOTOS) + 4 + 1
    assert not [n for n in written if n.endswith('.part')]


def test_rerun_skips_finished_photos_only(photos, tiny_redo, tmp_path,
                                          monkeypatch):
    """A run killed while writing leaves no finished-looking output; the
    rerun does what is missing and nothing else."""
    config, checkpoint = tiny_redo
    model = init_folder_model(config, checkpoint)
    out = str(tmp_path / 'out')

    def run():
        return segment_folder(model, photos, out, num_workers=0,
                              progress=False)

    real_replace = os.replace
    calls = []

    def dies_on_fifth_write(src, dst):
        calls.append(dst)
        if len(calls) == 5:
            raise KeyboardInterrupt  # killed while writing
        real_replace(src, dst)

    monkeypatch.setattr(os, 'replace', dies_on_fifth_write)
    with pytest.raises(KeyboardInterrupt):
        run()
    monkeypatch.setattr(os, 'replace', real_replace)
    # One photo finished (mask, cut-out, thumbnail, journal line); the
    # second has its mask only: its cut-out, being written when the run
    # died, never appeared.
    assert not osp.exists(calls[4]) and osp.exists(calls[3])
    leftovers = [
        n for _, _, names in os.walk(out) for n in names if '.part' in n
    ]
    assert leftovers == []
    done_first = [
        r['photo'] for r in journal_records(out) if r['status'] == 'done'
    ]
    assert len(done_first) == 1

    second = run()
    assert second['skipped'] == done_first
    assert second['done'] == sorted(set(PHOTOS) - set(done_first))
    assert sorted(second['failed']) == BROKEN

    names = output_names(list(PHOTOS))
    mtimes = {
        rel: os.stat(osp.join(out, 'masks', names[rel])).st_mtime_ns
        for rel in PHOTOS
    }
    third = run()
    assert third['done'] == [] and third['skipped'] == sorted(PHOTOS)
    assert sorted(third['failed']) == BROKEN  # broken files are retried
    assert mtimes == {
        rel: os.stat(osp.join(out, 'masks', names[rel])).st_mtime_ns
        for rel in PHOTOS
    }
    assert third['report']['shown'] == len(PHOTOS)
    assert sorted(read_scores(out)[0]) == sorted(list(PHOTOS) + BROKEN)


def test_shards_split_the_photos_without_overlap(photos, tmp_path):
    """--shard I/N runs into one folder: each photo segmented once, and the
    last run's scores and page cover every share."""
    model = init_folder_model(GRABCUT_CONFIG)
    out = str(tmp_path / 'out')
    first = segment_folder(model, photos, out, num_workers=0,
                           shard=(0, 2), progress=False)
    mine = sorted(r for r in PHOTOS if share_of(r, 2)[0] == 0)
    assert 0 < len(mine) < len(PHOTOS)
    assert first['done'] == mine
    assert first['report']['finished'] == len(mine)
    second = segment_folder(model, photos, out, num_workers=0,
                            shard=(1, 2), progress=False)
    assert second['done'] == sorted(set(PHOTOS) - set(mine))
    done = [r['photo'] for r in journal_records(out) if r['status'] == 'done']
    assert sorted(done) == sorted(PHOTOS)  # nothing written twice
    assert second['report']['finished'] == len(PHOTOS)
    assert sorted(read_scores(out)[0]) == sorted(list(PHOTOS) + BROKEN)
    with pytest.raises(UsageError, match='shard'):
        segment_folder(model, photos, out, shard=(2, 2))


@pytest.mark.slow
def test_two_processes_write_the_same_masks(photos, tiny_redo, tmp_path):
    """torchrun --nproc-per-node 2 ... --launcher pytorch (gloo on CPU):
    every photo done once, the masks of a one-process run, one summary."""
    config, checkpoint = tiny_redo
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    common = [config, checkpoint, photos, '--num-workers', '0']
    single = subprocess.run(
        [sys.executable, TOOL] + common + ['--out', one],
        env=tiny_run_env(), cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=300)
    assert single.returncode == 1, single.stderr[-3000:]
    launch = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node',
        '2', '--master-port',
        str(29500 + os.getpid() % 1000), TOOL
    ] + common + ['--out', two, '--launcher', 'pytorch']
    launched = subprocess.run(launch, env=tiny_run_env(), cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=300)
    assert launched.returncode == 1, launched.stderr[-3000:]
    # One summary (the first process's), counting both processes' photos.
    assert launched.stdout.count('done ') == 1
    assert f'done {len(PHOTOS)}, skipped 0 (already finished), failed 2' \
        in launched.stdout
    assert '2 process(es)' in launched.stdout
    done = [r['photo'] for r in journal_records(two) if r['status'] == 'done']
    assert sorted(done) == sorted(PHOTOS)
    assert len(os.listdir(osp.join(two, JOURNAL_DIR))) == 2
    names = output_names(list(PHOTOS))
    model = init_folder_model(config, checkpoint)
    for rel in PHOTOS:
        mask = read(osp.join(two, 'masks', names[rel]))
        assert_same_decided_pixels(
            mask, inference_model(model, osp.join(photos, rel)))
        # The same batches would give the same bits; other batches may
        # flip near-ties only.
        single_mask = read(osp.join(one, 'masks', names[rel]))
        assert (mask != single_mask).mean() < 0.01, rel
    assert sorted(read_scores(two)[0]) == sorted(list(PHOTOS) + BROKEN)

    # A run that stopped before two photos were done: the rerun under the
    # launcher does those two, and nothing else.
    lost = sorted(PHOTOS)[:2]
    for rel in lost:
        os.remove(osp.join(two, 'cutouts', names[rel]))
    rerun = subprocess.run(launch, env=tiny_run_env(), cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 1, rerun.stderr[-3000:]
    assert (f'done 2, skipped {len(PHOTOS) - 2} (already finished), '
            'failed 2') in rerun.stdout
    done = [r['photo'] for r in journal_records(two) if r['status'] == 'done']
    assert sorted(done) == sorted(list(PHOTOS) + lost)


def test_grabcut_config_needs_no_checkpoint(photos, tmp_path):
    """The shipped GrabCut config, no checkpoint: the masks find the drawn
    object at each photo's own size."""
    out = str(tmp_path / 'out')
    summary = segment_folder(
        init_folder_model(GRABCUT_CONFIG), photos, out, num_workers=0,
        progress=False)
    assert summary['done'] == sorted(PHOTOS)
    names = output_names(list(PHOTOS))
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
    model_args = dict(
        config=(str(tmp_path / 'nope.py'), checkpoint),
        checkpoint=(config, str(tmp_path / 'nope.pth')),
        no_checkpoint=(config, None)).get(case, (GRABCUT_CONFIG, None))
    in_dir = dict(
        in_dir=str(tmp_path / 'nowhere'), empty=str(empty)).get(case, photos)
    out = osp.join(photos, 'sub', 'out') if case == 'out_inside' else str(
        tmp_path / 'out')
    with pytest.raises(UsageError, match=message):
        segment_folder(init_folder_model(*model_args), in_dir, out)


@pytest.mark.slow
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
    assert 'review page (worst first)' in run.stdout
    for name in ('contact_sheet.png', 'scores.csv', 'index.html'):
        assert osp.isfile(osp.join(out, name)), name

    for argv, message in [
        ([GRABCUT_CONFIG, photos, '--out', osp.join(photos, 'out')],
         'inside the input folder'),
        ([GRABCUT_CONFIG, photos, '--out', out, '--shard', '3/2'],
         'I must be in 0 to N-1'),
    ]:
        bad = subprocess.run([sys.executable, TOOL] + argv,
                             env=tiny_run_env(), cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=300)
        assert bad.returncode != 0
        assert message in bad.stderr
        assert 'Traceback' not in bad.stderr


@pytest.mark.slow
def test_folder_pseudo_labels_agree_and_feed_a_dataset(photos, tiny_redo,
                                                       tmp_path):
    """GrabCut's labels of a folder, then ReDO's confident pixels where
    GrabCut agrees (tools/make_pseudo_labels.py --folder); a dataset of
    the folder reads them as training masks."""
    config, checkpoint = tiny_redo
    gc_labels, labels = str(tmp_path / 'gc'), str(tmp_path / 'labels')
    for argv in ([GRABCUT_CONFIG, 'none', '--out', gc_labels],
                 [config, checkpoint, '--out', labels, '--min-confidence',
                  '0.5001', '--agree-with', gc_labels]):
        run = run_tool('tools/make_pseudo_labels.py', *argv, '--folder',
                       photos, '--num-workers', '0')
        # The broken files are named and skipped, as training skips them.
        assert run.returncode == 1, run.stderr[-3000:]
        assert f'{len(PHOTOS)} pseudo-labels written' in run.stdout
        for rel in BROKEN:
            assert f'failed (skipped): {osp.join(photos, rel)}' in run.stdout
    names = output_names(list(PHOTOS) + BROKEN)
    model = init_folder_model(config, checkpoint)
    for rel in PHOTOS:
        gc = read(osp.join(gc_labels, names[rel]))
        both = read(osp.join(labels, names[rel]))
        assert gc.shape == both.shape == PHOTOS[rel][:2]
        kept = both != 255
        np.testing.assert_array_equal(both[kept], gc[kept])
        # Where ReDO says otherwise than GrabCut, the pixel is dropped.
        redo = inference_model(model, osp.join(photos, rel))
        prob = redo.seg_logits.data.softmax(dim=0)[1].numpy()
        sure = np.abs(prob - 0.5) > 1e-3
        assert not kept[sure & ((prob > 0.5) != (gc == 1))].any()

    from mmseg_redo.datasets import ImageFolderDataset
    dataset = ImageFolderDataset(
        data_root=photos,
        seg_map_dir=labels,
        pipeline=[
            dict(type='LoadImageFromFileChecked'),
            dict(type='LoadObjectMask'),
            dict(type='PackSegInputs')
        ])
    assert len(dataset) == len(PHOTOS)
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        rel = osp.relpath(sample.img_path, photos)
        np.testing.assert_array_equal(
            sample.gt_sem_seg.data[0].numpy(),
            read(osp.join(labels, names[rel])))
