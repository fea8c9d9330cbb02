"""Tests of the results store behind the benchmark tables.

mmseg_redo.benchmark: rows scored here are stored with their provenance and
the tables are written from the store, so a table written again without
the checkpoints is the same; a row neither here nor stored is left out with
a warning; rows of masks written at the photo's size are scored by
score_mask_folder; tables written before the store are imported from git;
the committed tables are what the committed store renders.
"""
import datetime
import json
import os.path as osp
import shutil
import subprocess
import warnings

import numpy as np
import pytest
import yaml
from conftest import (REPO_ROOT, save_untrained_checkpoint,
                      write_tiny_redo_config)
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from PIL import Image

from mmseg_redo.benchmark import evaluate_config, write_benchmark_table
from mmseg_redo.benchmark.recorded import import_recorded
from mmseg_redo.benchmark.store import ResultsStore
from mmseg_redo.benchmark.table import COMPACT_COLUMNS, format_params

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


def _header(text: str, marker: str):
    block = text.split(f'<!-- {marker}:start -->')[1]
    line = next(ln for ln in block.splitlines() if ln.startswith('| '))
    return [c.strip() for c in line.strip('|').split('|')]


def _masks(root, gt_root):
    """Hand-made masks: two true masks and two runs' predictions.

    Run ``seed0`` (written as segment_folder writes, under ``masks/`` next
    to ``cutouts/`` of the same names): image a, object = left half (8
    px), prediction = first column (4 px) and an ignored pixel: I 4, U 8;
    image b perfect (2 px). Object IoU 6/10, per image 0.5 and 1. Run
    ``seed1``: both perfect.
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
    return [str(root / 'seed0'), str(root / 'seed1')], str(gt_root), str(ids)


def _mask_row(folders, gt_dir, ids) -> dict:
    return dict(
        name='masks at the photo size',
        masks=folders,
        gt_dir=gt_dir,
        ids=ids,
        rule='label',
        seeds=[0, 1],
        labels='none')


def _entries(tmp_path, rows, **keys) -> str:
    path = tmp_path / 'rows.yaml'
    path.write_text(
        yaml.safe_dump(
            dict(
                dataset='Synthetic',
                results=str(tmp_path / 'store.json'),
                outputs=[
                    dict(
                        readme=str(tmp_path / 'R.md'),
                        metafile=str(tmp_path / 'meta.yaml')),
                    dict(
                        readme=str(tmp_path / 'README.md'),
                        marker='results-table',
                        columns='compact')
                ],
                rows=rows,
                **keys)))
    return str(path)


def _outputs(tmp_path):
    return [(tmp_path / name).read_text()
            for name in ('R.md', 'meta.yaml', 'README.md', 'store.json')]


def test_round_trip_scores_stores_and_renders_without_checkpoints(tmp_path):
    """Score -> store (with provenance) -> the same tables once the
    checkpoint and the masks are gone."""
    config = write_tiny_redo_config(str(tmp_path), extra=TEST_LOOP)
    checkpoint = save_untrained_checkpoint(
        config, str(tmp_path / 'run' / 'iter_2.pth'), object_index=1)
    folders, gt_dir, ids = _masks(tmp_path / 'seg', tmp_path / 'gt')
    pattern = str(tmp_path / 'run' / 'iter_*.pth')
    entries = _entries(tmp_path, [
        dict(
            name='ReDO tiny',
            config=config,
            checkpoint=pattern,
            seeds=[3],
            labels='none',
            train_time=2),
        _mask_row(folders, gt_dir, ids)
    ])
    write_benchmark_table(entries, root=REPO_ROOT)
    first = _outputs(tmp_path)

    stored = json.loads(first[3])
    assert (stored['dataset'], stored['split']) == ('Synthetic', 'test')
    redo, masks = stored['rows']
    expected = evaluate_config(
        Config.fromfile(config), 'test', None, checkpoint)
    assert redo['metrics']['object_iou'] == pytest.approx(
        expected['object_iou'])
    assert redo['definition'] == dict(config=config, checkpoint=pattern)
    assert redo['runs'][0]['checkpoint'] == checkpoint
    assert redo['runs'][0]['seed'] == 3
    commit = subprocess.run(
        ['git', '-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'],
        capture_output=True,
        text=True).stdout.strip()
    for entry in (redo, masks):
        source = entry['provenance']
        assert source['date'] == datetime.datetime.now(
            datetime.timezone.utc).date().isoformat()
        assert source['commit'] == commit
        assert 'cores' in source['machine']
        assert source['command'] == f'python tools/benchmark_table.py '\
            f'{entries}'
    assert masks['runs'][1]['masks'] == folders[1]
    text = first[0]
    assert _cells(text, 'ReDO tiny')[2] == \
        f"{expected['object_iou']:.3f}"
    assert _cells(text, 'ReDO tiny')[-1] == (
        f"{redo['provenance']['date']}, commit {commit}"
        f"{'+' if redo['provenance']['uncommitted_changes'] else ''}")

    shutil.rmtree(tmp_path / 'run')
    shutil.rmtree(tmp_path / 'seg')
    write_benchmark_table(entries, root=REPO_ROOT)
    assert _outputs(tmp_path) == first


def test_a_row_neither_here_nor_stored_is_left_out_with_a_warning(tmp_path):
    folders, gt_dir, ids = _masks(tmp_path / 'seg', tmp_path / 'gt')
    config = write_tiny_redo_config(str(tmp_path), extra=TEST_LOOP)
    rows = [
        dict(
            name='never trained',
            config=config,
            checkpoint=str(tmp_path / 'none' / '*.pth')),
        _mask_row(folders, gt_dir, ids)
    ]
    entries = _entries(tmp_path, rows)
    with pytest.warns(UserWarning, match="left out 'never trained'"):
        write_benchmark_table(entries)
    text = (tmp_path / 'R.md').read_text()
    assert '| never trained |' not in text
    assert 'no stored entry): never trained.' in text
    assert '| masks at the photo size |' in text
    store = ResultsStore(str(tmp_path / 'store.json'), 'Synthetic', 'test')
    assert store.get(rows[0]) is None and store.get(rows[1])

    # Masks gone: shown as stored, unless --skip-missing.
    shutil.rmtree(tmp_path / 'seg')
    write_benchmark_table(entries)
    assert '| masks at the photo size |' in (tmp_path / 'R.md').read_text()
    with pytest.warns(UserWarning, match='stored entries not used'):
        write_benchmark_table(entries, skip_missing=True)
    assert '| masks at the photo size |' not in (tmp_path / 'R.md').read_text()


def test_mask_folder_rows_are_scored_at_the_photo_size(tmp_path):
    folders, gt_dir, ids = _masks(tmp_path / 'seg', tmp_path / 'gt')
    entries = _entries(tmp_path, [_mask_row(folders, gt_dir, ids)])
    views = write_benchmark_table(entries)
    runs = views[0]['runs']
    assert runs[0]['metrics'] == pytest.approx(
        dict(object_iou=6 / 10, mean_image_iou=0.75))
    assert runs[1]['metrics'] == pytest.approx(
        dict(object_iou=1.0, mean_image_iou=1.0))
    assert [r['images'] for r in runs] == [2, 2]
    cells = _cells((tmp_path / 'R.md').read_text(), 'masks at the photo size')
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


def test_metafile_and_readme_blocks_come_from_the_store(tmp_path):
    """A hand-written store entry, its checkpoints absent: the full and
    compact blocks and the metafile show its numbers and provenance."""
    row = dict(
        name='Recipe, seeds 0, 1, 2',
        config=osp.join(REPO_ROOT, 'configs', 'redo', 'redo_toy.py'),
        checkpoint=[str(tmp_path / f'seed{i}' / '*.pth') for i in range(3)],
        labels='none',
        notes='three runs')
    metrics = dict(
        object_iou=0.714,
        mIoU=79.0,
        aAcc=90.0,
        redo_iou_best_of_2=0.746,
        redo_acc_best_of_2=0.904)
    store = ResultsStore(str(tmp_path / 'store.json'), 'Synthetic', 'test')
    store.put(
        row,
        dict(
            metrics=metrics,
            runs=[
                dict(checkpoint=f'seed{i}.pth', metrics=dict(object_iou=v))
                for i, v in enumerate((0.722, 0.730, 0.690))
            ],
            params=dict(inference=26022, total=416499),
            train_time='47 min per run',
            input='64x64'),
        dict(date='2026-01-02', commit='abc1234', machine='m', command='c'))
    saved = (tmp_path / 'store.json').read_text()
    write_benchmark_table(_entries(tmp_path, [row]))
    assert (tmp_path / 'store.json').read_text() == saved

    full = (tmp_path / 'R.md').read_text()
    assert _cells(full, row['name'])[2:10] == [
        '0.714 (0.722, 0.730, 0.690)', '0.790', '0.900', '0.746', '0.904',
        '26.0 k / 416.5 k', '47 min per run', '64x64'
    ]
    assert _cells(full, row['name'])[-1] == '2026-01-02, commit abc1234'
    assert 'store.json](store.json)' in full
    compact = (tmp_path / 'README.md').read_text()
    assert _header(compact, 'results-table') == list(COMPACT_COLUMNS)
    assert _cells(compact, row['name']) == [
        row['name'], 'none', '0.714 (0.722, 0.730, 0.690)', '64x64',
        '[redo_toy.py](' + osp.relpath(row['config'], tmp_path) + ')',
        'three runs', '2026-01-02, commit abc1234'
    ]
    model = yaml.safe_load((tmp_path / 'meta.yaml').read_text())['Models'][0]
    assert model['Results']['Metrics'] == {
        'mIoU': 79.0,
        'aAcc': 90.0,
        'Object IoU': 71.4,
        'Best-of-2 IoU': 74.6,
        'Best-of-2 Acc': 90.4
    }
    assert model['Metadata']['Measured'] == '2026-01-02, commit abc1234'
    assert model['Metadata']['Parameters (inference)'] == 26022
    assert model['Weights'] == 'seed0.pth'


OLD_TABLE = '''# Results

<!-- benchmark-table:start -->
Synthetic, `test` split; written by `python tools/benchmark_table.py \
rows.yaml --split test` (do not edit by hand).

| Method | Labels used | Object IoU | mIoU | Pixel acc. \
| Best-of-2 IoU (ref.) | Best-of-2 acc. (ref.) | Params (inference / total) \
| Training time | Input | Config | Notes | Val object IoU: best (iter) / last |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
| GrabCut | none | 0.816 | 0.870 | 0.943 | 0.830 | 0.943 | 0 / 0 | none \
| 128x128 | [g.py](g.py) | no training | n/a |
| Two seeds | none | 0.700 (0.650, 0.750) | 0.790 | n/a | 0.746 | 0.904 \
| {params} | 47 min per run (logged train iters) | 64x64 | [t.py](t.py) \
|  | 0.722 (4000) / 0.720; 0.736 (3000) / 0.700 |
<!-- benchmark-table:end -->
'''
OLD_METAFILE = '''Models:
- Name: GrabCut
  Results:
    Metrics: {mIoU: 87.0, aAcc: 94.31, Object IoU: 81.59,
      Best-of-2 IoU: 83.05, Best-of-2 Acc: 94.31}
  Metadata: {Parameters (inference): 0, Parameters (total): 0}
  Weights: null
'''


def _git(repo, *args) -> str:
    return subprocess.run([
        'git', '-C',
        str(repo), '-c', 'user.name=t', '-c', 'user.email=t@t', *args
    ],
                          capture_output=True,
                          text=True,
                          check=True).stdout.strip()


def test_tables_written_before_the_store_are_imported_as_recorded(tmp_path):
    """The rows of an old block and metafile at a commit of a (scratch) git
    repository: numbers as recorded, provenance from git."""
    config = write_tiny_redo_config(str(tmp_path), extra=TEST_LOOP)
    model = MODELS.build(Config.fromfile(config).model)
    params = ' / '.join(
        format_params(sum(p.numel() for p in net.parameters()))
        for net in (model.mask_net, model))
    repo = tmp_path / 'repo'
    repo.mkdir()
    (repo / 'README.md').write_text(OLD_TABLE.format(params=params))
    (repo / 'meta.yaml').write_text(OLD_METAFILE)
    _git(repo, 'init', '-q')
    _git(repo, 'add', '.')
    _git(repo, 'commit', '-q', '-m', 'tables')
    commit = _git(repo, 'rev-parse', '--short', 'HEAD')
    rows = [
        dict(name='GrabCut', config='g.py', labels='none'),
        dict(
            name='Two seeds',
            config=config,
            checkpoint=['s0/*.pth', 's1/*.pth'],
            seeds=[0, 1]),
    ]
    store = ResultsStore(str(tmp_path / 'store.json'), 'Synthetic', 'test')
    outputs = [
        dict(readme=str(repo / 'README.md'), metafile=str(repo / 'meta.yaml'))
    ]
    import_recorded(rows, outputs, store, 'HEAD', str(repo))

    grabcut, seeds = (store.get(row) for row in rows)
    # The metafile's numbers (percent, two decimals) where it has the row;
    # the table's 0.830 kept where 83.05 would round to 0.831.
    assert grabcut['metrics']['redo_iou_best_of_2'] == 0.8305
    assert grabcut['table_cells'] == {'Best-of-2 IoU (ref.)': '0.830'}
    assert seeds['metrics'] == dict(
        object_iou=0.7,
        mIoU=79.0,
        redo_iou_best_of_2=0.746,
        redo_acc_best_of_2=0.904)
    assert [r['metrics']['object_iou'] for r in seeds['runs']] == [0.65, 0.75]
    assert [r['seed'] for r in seeds['runs']] == [0, 1]
    assert seeds['runs'][1]['val_object_iou'] == dict(
        best=0.736, best_iter=3000, last=0.7)
    for entry in (grabcut, seeds):
        assert entry['provenance']['commit'] == commit
        assert entry['provenance']['command'] == \
            'python tools/benchmark_table.py rows.yaml --split test'
        assert 'before the results store existed' in \
            entry['provenance']['source']

    # An import that would change a number stops.
    (repo / 'meta.yaml').write_text(OLD_METAFILE.replace('81.59', '81.49'))
    _git(repo, 'commit', '-q', '-am', 'changed')
    with pytest.raises(ValueError, match="Object IoU would read '0.815'"):
        import_recorded(
            rows[:1], outputs,
            ResultsStore(str(tmp_path / 's2.json'), 'Synthetic', 'test'),
            'HEAD', str(repo))


def test_committed_tables_are_what_the_committed_store_renders(
        tmp_path, monkeypatch):
    """README.md's and configs/redo/README.md's blocks and the metafile,
    written again from docs/results/ alone, come out as committed."""
    files = [
        'README.md', 'configs/redo/README.md', 'configs/redo/metafile.yaml',
        'configs/redo/metafile_photos_flowers17.yaml',
        'configs/redo/metafile_photos_lfw.yaml'
    ]
    rows_files = [
        'configs/redo/benchmark_flowers17_cpu.yaml',
        'configs/redo/ablation_flowers17_cpu.yaml',
        'configs/redo/benchmark_lfw_val_cpu.yaml',
        'configs/redo/benchmark_photos_flowers17_test.yaml'
    ]
    for name in files + rows_files + [
            'docs/results/flowers17_test.json', 'docs/results/lfw_val.json'
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(osp.join(REPO_ROOT, name), tmp_path / name)
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        # A row neither measured nor stored is named in a warning (and in
        # the table's "left out" line, which the comparison covers).
        warnings.simplefilter('ignore', UserWarning)
        for rows_file in rows_files:
            write_benchmark_table(
                rows_file, from_store=True, root=str(tmp_path))
    for name in files:
        with open(osp.join(REPO_ROOT, name)) as committed:
            assert (tmp_path / name).read_text() == committed.read(), name
