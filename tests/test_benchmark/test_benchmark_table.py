"""Tests of the benchmark tables (benchmarks.scoring and the command line
``python -m benchmarks.results``) and the GrabCut baseline.

The table is written for two tiny rows on synthetic data (an untrained
ReDO checkpoint, and GrabCut), and the written table and metafile are
checked against numbers computed here without the table's code. GrabCut
against the Flowers-17 data README is skipped when the data is absent.
"""
import datetime
import json
import os.path as osp
import subprocess

import pytest
import torch
import yaml
from conftest import (FLOWERS17, REPO_ROOT, VENV_PYTHON, tiny_run_env,
                      write_tiny_redo_config)
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import save_checkpoint
from mmseg.registry import DATASETS, MODELS

from benchmarks.results import write_tables
from benchmarks.scoring import (estimate_train_time, evaluate_config,
                                format_duration, score_row)
from mmseg_redo.datasets.base import OBJECT_METAINFO
from mmseg_redo.evaluation.redo_metric import binary_counts, redo_scores
from mmseg_redo.models import grabcut_mask

needs_flowers17 = pytest.mark.skipif(
    not osp.isfile(osp.join(FLOWERS17, 'test.txt')),
    reason=f'Flowers-17 not found at {FLOWERS17}')


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """Metrics run tiny torch ops per image: one thread is faster on a
    small, busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SYNTHETIC_TEST = '''
test_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(size=32, num_samples=8, split='test'))
test_cfg = dict(type='TestLoop')
'''
GRABCUT = '''
_base_ = [{synthetic!r}, {runtime!r}]
model = dict(
    type='GrabCutSegmentor', margin=0.1, iterations=2,
    data_preprocessor=dict(type='SegDataPreProcessor', bgr_to_rgb=False))
'''


def _write(path, text: str) -> str:
    base = dict(
        synthetic=osp.join(REPO_ROOT, 'configs/_base_/datasets/synthetic.py'),
        runtime=osp.join(REPO_ROOT, 'configs/_base_/default_runtime.py'))
    path.write_text(text.format(**base) + SYNTHETIC_TEST)
    return str(path)


@pytest.fixture(scope='module')
def rows(tmp_path_factory):
    """Two rows: configs, the ReDO checkpoint and its model."""
    init_default_scope('mmseg')
    tmp = tmp_path_factory.mktemp('rows')
    redo_cfg = write_tiny_redo_config(str(tmp), extra=SYNTHETIC_TEST)
    gc_cfg = _write(tmp / 'grabcut.py', GRABCUT)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(redo_cfg).model)
    model.init_weights()
    model.object_index.fill_(1)
    checkpoint = str(tmp / 'redo.pth')
    save_checkpoint(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=dict(OBJECT_METAINFO))), checkpoint)
    entries = [
        dict(name='ReDO tiny', config=redo_cfg,
             checkpoint=osp.join(tmp, 'red*.pth'), labels='none',
             train_time='12 min', device='2 CPU cores', notes='untrained'),
        dict(name='GrabCut', config=gc_cfg, labels='none'),
    ]
    return dict(entries=entries, configs=dict(redo=redo_cfg, grabcut=gc_cfg),
                checkpoint=checkpoint, model=model.eval())


def _rows_file(path, rows, **output) -> str:
    """A rows file writing one block, ``output`` (``readme``...)."""
    output.setdefault('marker', 'benchmark-table')
    path.write_text(
        yaml.safe_dump(
            dict(dataset='Synthetic', results=str(path) + '.json',
                 outputs=[output], rows=rows)))
    return str(path)


def _test_samples(config: str):
    cfg = Config.fromfile(config)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    return [dataset[i] for i in range(len(dataset))]


def _scores(preds, samples) -> dict:
    counts = [
        binary_counts(p, s['data_samples'].gt_sem_seg.data[0].numpy())
        for p, s in zip(preds, samples)
    ]
    return redo_scores(counts)


def _cells(readme: str, name: str):
    line = next(ln for ln in readme.splitlines()
                if ln.startswith(f'| {name} |'))
    return [c.strip() for c in line.strip('|').split('|')]


@pytest.mark.slow
def test_table_holds_the_measured_numbers(rows, tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text('# Intro kept\n\n<!-- benchmark-table:start -->\nold '
                      'table\n<!-- benchmark-table:end -->\n\nFooter kept.\n')
    # Not beside the rows file: every YAML file there is a rows file.
    (tmp_path / 'configs').mkdir()
    metafile = tmp_path / 'configs' / 'metafile.yaml'
    entries = _rows_file(tmp_path / 'rows.yaml', rows['entries'],
                         readme=str(readme), metafile=str(metafile))
    results = write_tables(entries, root=REPO_ROOT)
    by_name = {r['name']: r for r in results}

    # Independent numbers: GrabCut straight from OpenCV, ReDO straight from
    # its predict().
    samples = _test_samples(rows['configs']['grabcut'])
    gc_preds = [
        grabcut_mask(s['inputs'].permute(1, 2, 0).numpy(), 0.1, 2)
        for s in samples
    ]
    # Each row is scored on its own config's test split.
    redo_samples = _test_samples(rows['configs']['redo'])
    with torch.no_grad():
        out = rows['model'].test_step(pseudo_collate(redo_samples))
    expected = {
        'GrabCut': _scores(gc_preds, samples),
        'ReDO tiny': _scores([o.pred_sem_seg.data[0].numpy() for o in out],
                             redo_samples)
    }

    text = readme.read_text()
    assert text.startswith('# Intro kept')
    assert text.rstrip().endswith('Footer kept.')
    assert 'old table' not in text
    assert text.count('<!-- benchmark-table:start -->') == 1
    for name, scores in expected.items():
        cells = _cells(text, name)
        assert cells[2] == f"{scores['object_iou']:.3f}", name
        assert cells[5] == f"{scores['redo_iou_best_of_2']:.3f}", name
        assert cells[6] == f"{scores['redo_acc_best_of_2']:.3f}", name
        m = by_name[name]['metrics']
        assert m['object_iou'] == pytest.approx(scores['object_iou'])
        assert cells[3] == f"{m['mIoU'] / 100:.3f}"
        assert cells[4] == f"{m['aAcc'] / 100:.3f}"
    # The rows differ: a table of copies would pass the checks above.
    assert len({_cells(text, n)[2] for n in expected}) > 1

    redo = rows['model']
    mask_params = sum(p.numel() for p in redo.mask_net.parameters())
    assert by_name['ReDO tiny']['params'] == dict(
        inference=mask_params, total=sum(p.numel() for p in redo.parameters()))
    assert by_name['GrabCut']['params'] == dict(inference=0, total=0)
    redo_cells = _cells(text, 'ReDO tiny')
    assert redo_cells[1] == 'none'
    assert redo_cells[8] == '12 min'  # as given
    assert redo_cells[9] == '32x32'  # the synthetic test images
    assert '2 CPU cores; untrained' == redo_cells[11]

    meta = yaml.safe_load(metafile.read_text())
    models = {m['Name']: m for m in meta['Models']}
    assert set(models) == set(expected)
    assert meta['Collections'][0]['Name'] == 'ReDO'
    for name in expected:
        m = by_name[name]['metrics']
        assert models[name]['Results']['Metrics']['mIoU'] == round(
            m['mIoU'], 2)
        assert models[name]['Results']['Metrics']['Object IoU'] == round(
            100 * m['object_iou'], 2)
    assert models['ReDO tiny']['Weights'] == rows['checkpoint']
    assert models['GrabCut']['Weights'] is None

    # The store keeps each row's definition, runs and provenance.
    store = tmp_path / 'rows.yaml.json'
    stored = json.loads(store.read_text())
    assert stored['rows'][0]['definition'] == dict(
        config=rows['configs']['redo'],
        checkpoint=rows['entries'][0]['checkpoint'])
    assert stored['rows'][0]['runs'][0]['checkpoint'] == rows['checkpoint']
    commit = subprocess.run(
        ['git', '-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'],
        capture_output=True, text=True).stdout.strip()
    source = stored['rows'][0]['provenance']
    assert source['date'] == datetime.datetime.now(
        datetime.timezone.utc).date().isoformat()
    assert source['commit'] == commit and 'cores' in source['machine']
    assert source['command'] == f'python -m benchmarks.results {entries}'
    assert redo_cells[-1] == (f"{source['date']}, commit {commit}"
                              f"{'+' if source['uncommitted_changes'] else ''}")

    # The command line, from the store: the same table (replaced, not
    # added), metafile and store.
    written = [p.read_text() for p in (readme, metafile, store)]
    run = subprocess.run(
        [VENV_PYTHON, '-m', 'benchmarks.results', entries, '--from-store'],
        cwd=REPO_ROOT, env=tiny_run_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    assert [p.read_text() for p in (readme, metafile, store)] == written


@pytest.mark.slow
def test_seeds_val_selection_raw_weights_and_a_second_table(rows, tmp_path):
    """A row of two runs shows their mean and each; ``select: val`` keeps
    the checkpoint best on val; ``weights: raw`` scores ema_state_dict; the
    ablation table goes into its own marked block."""
    model = rows['model']
    state = {k: v.clone() for k, v in model.state_dict().items()}
    flipped = dict(state, object_index=torch.tensor(0))
    paths = {}
    for name, saved in (('one', state), ('zero', flipped)):
        paths[name] = str(tmp_path / f'run_{name}' / 'iter_1.pth')
        save_checkpoint(dict(state_dict=saved), paths[name])
    # An EMA checkpoint whose raw weights are the flipped ones.
    paths['ema'] = str(tmp_path / 'run_ema' / 'iter_1.pth')
    save_checkpoint(
        dict(
            state_dict=state,
            ema_state_dict={f'module.{k}': v
                            for k, v in flipped.items()}), paths['ema'])
    (tmp_path / 'run_one' / '20240101_000000' / 'vis_data').mkdir(
        parents=True)
    (tmp_path / 'run_one' / '20240101_000000' / 'vis_data' /
     'scalars.json').write_text('\n'.join(
         json.dumps(r) for r in [
             dict(object_iou=0.4, step=2),
             dict(iter=3, time=1.0, step=3),
             dict(object_iou=0.6, step=4),
             dict(object_iou=0.5, step=6)
         ]) + '\n')
    config = write_tiny_redo_config(
        str(tmp_path), validate=True, extra=SYNTHETIC_TEST)
    single, val = ({
        name: evaluate_config(Config.fromfile(config), split,
                              paths[name])[0]['object_iou']
        for name in ('one', 'zero')
    } for split in ('test', 'val'))
    assert single['one'] != single['zero']
    readme = tmp_path / 'README.md'
    readme.write_text('<!-- benchmark-table:start -->\nmain\n'
                      '<!-- benchmark-table:end -->\n')
    entries = _rows_file(
        tmp_path / 'ablation.yaml', [
            dict(name='two runs', config=config,
                 checkpoint=[paths['one'], paths['zero']]),
            dict(name='best on val', config=config,
                 checkpoint=str(tmp_path / 'run_*' / 'iter_1.pth'),
                 select='val'),
            dict(name='raw', config=config, checkpoint=paths['ema'],
                 weights='raw'),
        ], readme=str(readme), marker='ablation-table', curves=True)
    write_tables(entries)
    text = readme.read_text()
    assert 'main' in text and '<!-- ablation-table:end -->' in text
    mean = (single['one'] + single['zero']) / 2
    assert _cells(text, 'two runs')[2] == (
        f"{mean:.3f} ({single['one']:.3f}, {single['zero']:.3f})")
    # The curve column: best 0.6 at iteration 4, last 0.5 (run 'one').
    assert _cells(text, 'two runs')[-1] == '0.600 (4) / 0.500'
    best = 'one' if val['one'] > val['zero'] else 'zero'
    assert _cells(text, 'best on val')[2] == f'{single[best]:.3f}'
    assert _cells(text, 'raw')[2] == f"{single['zero']:.3f}"
    with pytest.raises(ValueError, match='no ema_state_dict'):
        score_row(
            dict(name='x', config=config, checkpoint=paths['one'],
                 weights='raw'), 'test')


def test_train_time_from_the_logs(tmp_path):
    """Logged mean iteration times, weighted by the iterations they cover;
    a resumed run's repeated iterations count once."""
    first = tmp_path / '20240101_000000' / 'vis_data'
    second = tmp_path / '20240102_000000' / 'vis_data'
    for folder in (first, second):
        folder.mkdir(parents=True)
    (first / 'scalars.json').write_text('\n'.join(
        json.dumps(r) for r in [
            dict(iter=2, time=0.5, loss_z=1.0, step=2),
            dict(iter=4, time=1.0, loss_z=1.0, step=4),
            dict(mIoU=10.0, step=4),  # validation: not training time
            dict(iter=6, time=1.0, step=6),
        ]) + '\n')
    # Resumed from iteration 4: iterations 5-6 run again, then 7-8.
    (second / 'scalars.json').write_text('\n'.join(
        json.dumps(r) for r in [
            dict(iter=6, time=2.0, step=6),
            dict(iter=8, time=2.0, step=8),
        ]) + '\n')
    seconds = estimate_train_time(str(tmp_path))
    assert seconds == pytest.approx(2 * 0.5 + 2 * 1.0 + 2 * 2.0 + 2 * 2.0)
    assert estimate_train_time(str(tmp_path / 'none')) is None
    assert format_duration(3900) == '1 h 05 min'


@pytest.mark.slow
@needs_flowers17
def test_grabcut_reproduces_the_flowers17_readme(tmp_path):
    """GrabCut at 128x128 on test.txt, through the table tool: the data
    README gives fg IoU 0.825, mIoU 0.876, pixel acc. 0.946 (OpenCV's RNG
    moves these by about 0.01)."""
    config = osp.join(REPO_ROOT,
                      'configs/baselines/grabcut_flowers17-128x128.py')
    readme = tmp_path / 'README.md'
    entries = _rows_file(
        tmp_path / 'entries.yaml',
        [dict(name='GrabCut 128', config=config, labels='none',
              cfg_options={'test_dataloader.dataset.data_root': FLOWERS17,
                           'test_dataloader.num_workers': 1})],
        readme=str(readme))
    results = write_tables(entries)
    m = results[0]['metrics']
    print('GrabCut 128x128 on Flowers-17 test:', m)
    assert m['object_iou'] == pytest.approx(0.825, abs=0.015)
    assert m['mIoU'] / 100 == pytest.approx(0.876, abs=0.015)
    assert m['aAcc'] / 100 == pytest.approx(0.946, abs=0.01)
    cells = _cells(readme.read_text(), 'GrabCut 128')
    assert cells[2] == f"{m['object_iou']:.3f}"
    assert cells[9] == '128x128'
