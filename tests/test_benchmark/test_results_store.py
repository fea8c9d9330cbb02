"""Tests of the results store behind the tables (benchmarks.results).

A rescored row replaces its entry; rows of masks written at the photo's
size are scored, and shown as stored once the masks are gone; a row neither
here nor stored is left out with a warning; one metafile holds the models
of several rows files; the committed tables are what the committed store
renders. (Scoring a model row and its provenance: test_benchmark_table.py.)
"""
import os.path as osp
import shutil
import warnings

import numpy as np
import pytest
import yaml
from conftest import REPO_ROOT, write_tiny_redo_config
from mmengine.registry import init_default_scope
from PIL import Image

from benchmarks.results import ResultsStore, write_tables

TEST_LOOP = "test_cfg = dict(type='TestLoop')\n"


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def _png(path, array) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


def _cells(text: str, name: str):
    line = next(ln for ln in text.splitlines() if ln.startswith(f'| {name} |'))
    return [c.strip() for c in line.strip('|').split('|')]


def _masks(root, gt_root):
    """Two true masks and two runs' predictions.

    Run ``seed0`` (as segment_folder writes it: ``masks/`` beside
    ``cutouts/``): image a, object = left half (8 px), prediction = first
    column (4 px) and an ignored pixel: I 4, U 8; image b perfect (2 px).
    Object IoU 6/10, per image 0.5 and 1. Run ``seed1``: both perfect.
    """
    gt_a = np.zeros((4, 4))
    gt_a[:, :2] = 1
    gt_a[0, 3] = 255
    gt_b = np.zeros((2, 2))
    gt_b[0] = 1
    _png(gt_root / 'a.png', gt_a)
    _png(gt_root / 'b.png', gt_b)
    pred_a = np.zeros((4, 4))
    pred_a[:, 0] = 255
    pred_a[0, 3] = 255
    for name, pred in (('a', pred_a), ('b', gt_b * 255)):
        _png(root / 'seed0' / 'masks' / f'{name}.png', pred)
        _png(root / 'seed0' / 'cutouts' / f'{name}.png', np.zeros((1, 1)))
    _png(root / 'seed1' / 'a.png', (gt_a == 1) * 255)
    _png(root / 'seed1' / 'b.png', gt_b * 255)
    ids = gt_root.parent / 'test.txt'
    ids.write_text('a\nb\n')
    return dict(
        name='masks at the photo size',
        masks=[str(root / 'seed0'), str(root / 'seed1')],
        gt_dir=str(gt_root),
        ids=str(ids),
        rule='label',
        seeds=[0, 1],
        labels='none')


def _entries(tmp_path, rows, name='rows.yaml', **keys) -> str:
    """A rows file writing a full block with the metafile, and a compact
    one."""
    data = dict(
        dataset='Synthetic',
        results=str(tmp_path / 'store.json'),
        outputs=[
            dict(readme=str(tmp_path / 'R.md'), marker='full',
                 metafile=str(tmp_path / 'meta.yaml')),
            dict(readme=str(tmp_path / 'README.md'), marker='compact',
                 columns='compact')
        ],
        rows=rows)
    # The rows files in a folder of their own, as benchmarks/rows/.
    path = tmp_path / 'rows' / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(dict(data, **keys)))
    return str(path)


def test_a_rescored_row_replaces_its_entry(tmp_path):
    """Same definition, new name and numbers: one entry, the new one."""
    row = dict(name='old name', masks='m', gt_dir='g')
    store = ResultsStore(str(tmp_path / 's.json'), 'Synthetic', 'test')
    old = dict(metrics=dict(object_iou=0.5), runs=[], params=None,
               train_time='none', input='x')
    store.put(row, old, dict(date='2026-01-01', commit='aaa'))
    store.put(dict(row, name='new name'), dict(old, metrics=dict(
        object_iou=0.7)), dict(date='2026-01-02', commit='bbb'))
    rows = ResultsStore(str(tmp_path / 's.json'), 'Synthetic',
                        'test').data['rows']
    assert [(r['name'], r['metrics']['object_iou'], r['provenance']['commit'])
            for r in rows] == [('new name', 0.7, 'bbb')]
    with pytest.raises(ValueError, match='stores'):
        ResultsStore(str(tmp_path / 's.json'), 'Synthetic', 'val')


def test_mask_rows_are_scored_and_a_row_neither_here_nor_stored_left_out(
        tmp_path):
    masks = _masks(tmp_path / 'seg', tmp_path / 'gt')
    config = write_tiny_redo_config(str(tmp_path), extra=TEST_LOOP)
    entries = _entries(tmp_path, [
        dict(name='never trained', config=config,
             checkpoint=str(tmp_path / 'none' / '*.pth')), masks
    ])
    with pytest.warns(UserWarning, match="left out 'never trained'"):
        runs = write_tables(entries)[0]['runs']
    assert runs[0]['metrics'] == pytest.approx(
        dict(object_iou=6 / 10, mean_image_iou=0.75))
    assert runs[1]['metrics'] == pytest.approx(
        dict(object_iou=1.0, mean_image_iou=1.0))
    assert [(r['images'], r['seed']) for r in runs] == [(2, 0), (2, 1)]
    text = (tmp_path / 'R.md').read_text()
    assert '| never trained |' not in text
    assert 'no stored entry): never trained.' in text
    cells = _cells(text, 'masks at the photo size')
    assert cells[2] == '0.800 (0.600, 1.000)'
    assert cells[3:8] == ['n/a'] * 5  # mIoU ... params: not measured
    assert cells[9] == "photo's size"
    assert cells[11] == ("scored at the photo's size (2 images; mean "
                         'per-image IoU 0.875)')
    model = yaml.safe_load((tmp_path / 'meta.yaml').read_text())['Models'][0]
    assert model['Results']['Metrics'] == {
        'Object IoU': 80.0,
        'Mean Image IoU': 87.5
    }
    assert 'Parameters (total)' not in model['Metadata']
    assert model['Weights'] is None and model['Config'] is None

    # Masks gone: shown as stored.
    shutil.rmtree(tmp_path / 'seg')
    with pytest.warns(UserWarning, match="left out 'never trained'"):
        write_tables(entries)
    assert (tmp_path / 'R.md').read_text() == text


def _stored(tmp_path, row, store, object_iou, dataset='Synthetic'):
    ResultsStore(str(tmp_path / store), dataset, 'test').put(
        row,
        dict(metrics=dict(object_iou=object_iou, mIoU=79.0, aAcc=90.0),
             runs=[dict(checkpoint=f'{i}.pth', metrics=dict(object_iou=v))
                   for i, v in enumerate((0.722, 0.730, 0.690))],
             params=dict(inference=26022, total=416499),
             train_time='47 min per run', input='64x64'),
        dict(date='2026-01-02', commit='abc1234'))


def test_blocks_summary_and_one_metafile_come_from_the_stores(tmp_path):
    """Stored entries, checkpoints absent: full, compact and summary blocks;
    the metafile holds both rows files' models (a repeated name gets its
    dataset), whichever writes it."""
    row = dict(name='Recipe', config=osp.join(REPO_ROOT, 'configs', 'redo',
                                              'redo_toy.py'),
               checkpoint=[f'seed{i}/*.pth' for i in range(3)],
               labels='none', notes='three runs')
    _stored(tmp_path, row, 'store.json', 0.714)
    _stored(tmp_path, dict(row, config='other.py'), 'other.json', 0.5,
            'Other')
    other = _entries(tmp_path, [dict(row, config='other.py')], 'other.yaml',
                     dataset='Other', results=str(tmp_path / 'other.json'),
                     outputs=[dict(readme=str(tmp_path / 'O.md'),
                                   marker='other',
                                   metafile=str(tmp_path / 'meta.yaml'))])
    entries = _entries(tmp_path, [row])
    summary = dict(readme=str(tmp_path / 'README.md'), marker='summary',
                   columns='summary', beside=other)
    data = yaml.safe_load(open(entries))
    data['outputs'].append(summary)
    (tmp_path / 'rows' / 'rows.yaml').write_text(yaml.safe_dump(data))
    saved = (tmp_path / 'store.json').read_text()
    write_tables(entries)
    assert (tmp_path / 'store.json').read_text() == saved

    full = (tmp_path / 'R.md').read_text()
    assert _cells(full, 'Recipe')[2:10] == [
        '0.714 (0.722, 0.730, 0.690)', '0.790', '0.900', 'n/a', 'n/a',
        '26.0 k / 416.5 k', '47 min per run', '64x64'
    ]
    assert 'store.json](store.json)' in full
    readme = (tmp_path / 'README.md').read_text()
    compact = readme.split('<!-- compact:start -->')[1]
    assert _cells(compact, 'Recipe') == [
        'Recipe', 'none', '0.714 (0.722, 0.730, 0.690)', '64x64',
        '[redo_toy.py](' + osp.relpath(row['config'], tmp_path) + ')',
        'three runs', '2026-01-02, commit abc1234'
    ]
    block = readme.split('<!-- summary:start -->')[1]
    assert '| Method | Synthetic test | Other test | Config |' in block
    assert _cells(block, 'Recipe')[:3] == [
        'Recipe', '0.714 (0.722, 0.730, 0.690)', '0.500 (0.722, 0.730, 0.690)'
    ]
    meta = (tmp_path / 'meta.yaml').read_text()
    models = yaml.safe_load(meta)['Models']
    assert [m['Name'] for m in models] == ['Recipe (Other test)',
                                           'Recipe (Synthetic test)']
    assert models[1]['Results']['Metrics'] == {
        'mIoU': 79.0, 'aAcc': 90.0, 'Object IoU': 71.4}
    assert models[1]['Metadata']['Measured'] == '2026-01-02, commit abc1234'
    assert models[1]['Weights'] == '0.pth'
    # Its row's config is not here: from the store.
    write_tables(other, from_store=True)
    assert (tmp_path / 'meta.yaml').read_text() == meta


#: The committed outputs and what writes them.
COMMITTED = [
    'README.md', 'configs/redo/README.md', 'configs/redo/metafile.yaml'
]
ROWS_FILES = [
    'benchmarks/rows/benchmark_flowers17_cpu.yaml',
    'benchmarks/rows/ablation_flowers17_cpu.yaml',
    'benchmarks/rows/benchmark_lfw_val_cpu.yaml',
    'benchmarks/rows/benchmark_photos_flowers17_test.yaml'
]


def test_committed_tables_are_what_the_committed_store_renders(
        tmp_path, monkeypatch):
    """README.md's summary, configs/redo/README.md's blocks and the
    metafile, written again from docs/results/ alone, come out as
    committed."""
    for name in COMMITTED + ROWS_FILES + [
            'docs/results/flowers17_test.json', 'docs/results/lfw_val.json'
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(osp.join(REPO_ROOT, name), tmp_path / name)
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        # Every row is named in a warning (not scored: from the store).
        warnings.simplefilter('ignore', UserWarning)
        for rows_file in ROWS_FILES:
            write_tables(rows_file, from_store=True, root=str(tmp_path))
    for name in COMMITTED:
        with open(osp.join(REPO_ROOT, name)) as committed:
            assert (tmp_path / name).read_text() == committed.read(), name
    # Not vacuous: every block is there, filled from both stores.
    readme = (tmp_path / 'README.md').read_text()
    assert ('| Method | Flowers-17 test | LFW val | Time (ms/im, 2-core '
            'CPU), Flowers-17 test | Config |') in readme
    # Every photo-size row says what a photo costs, GrabCut's included.
    for model in yaml.safe_load(
            (tmp_path / 'configs/redo/metafile.yaml').read_text())['Models']:
        if 'photo' in model['Metadata']['Crop Size']:
            timing = model['Metadata']['inference time (ms/im)'][0]
            assert timing['value'] > 0 and timing['batch size'] == 1
    redo_readme = (tmp_path / 'configs/redo/README.md').read_text()
    for marker in ('benchmark-table', 'photo-size-flowers17-table',
                   'lfw-val-table', 'ablation-table'):
        assert f'<!-- {marker}:start -->\n' in redo_readme, marker


def test_inference_time_survives_rescoring_and_reaches_tables_and_metafile(
        tmp_path):
    """benchmarks.inference_time times a row's model as a user runs it
    (here GrabCut, no weights, on two photos) and stores mmseg's fields;
    rescoring keeps them; the tables get a time column and the metafile
    ``inference time (ms/im)``."""
    from benchmarks.inference_time import time_row
    for i in range(2):
        _png(tmp_path / 'photos' / f'p{i}.png',
             np.random.default_rng(i).integers(0, 255, (40, 48, 3)))
    photos = [str(tmp_path / 'photos' / f'p{i}.png') for i in range(2)]
    row = dict(name='Recipe', config=osp.join(
        REPO_ROOT, 'configs', 'baselines', 'grabcut_flowers17-64x64.py'))
    seconds = time_row(row, photos)
    assert len(seconds) == 2 and all(s > 0 for s in seconds)

    _stored(tmp_path, row, 'store.json', 0.714)
    store = ResultsStore(str(tmp_path / 'store.json'), 'Synthetic', 'test')
    timing = {'value': 12.3, 'hardware': 'a CPU', 'backend': 'PyTorch',
              'batch size': 1, 'mode': 'FP32', 'resolution': '(40,48)'}
    store.set_inference_time(row, timing)
    _stored(tmp_path, row, 'store.json', 0.75)  # scored again
    write_tables(_entries(tmp_path, [row]), from_store=True)
    compact = (tmp_path / 'README.md').read_text()
    assert '| Object IoU | Time (ms/im, 2-core CPU) |' in compact
    assert _cells(compact, 'Recipe')[2:4] == [
        '0.750 (0.722, 0.730, 0.690)', '12']
    meta = yaml.safe_load((tmp_path / 'meta.yaml').read_text())
    assert meta['Models'][0]['Metadata']['inference time (ms/im)'] == [timing]
