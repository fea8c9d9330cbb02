"""Tests of the benchmark table (mmseg_redo.benchmark and
tools/benchmark_table.py) and the GrabCut baseline.

The table is written for three tiny rows on synthetic data (a ReDO and a
supervised EncoderDecoder checkpoint, untrained, and GrabCut), and the
written table and metafile are checked against numbers computed here
without the table's code.
The Flowers-17 tests (GrabCut against the data README, the supervised
baselines' training list) are skipped when the data is absent.
"""
import json
import os.path as osp

import numpy as np
import pytest
import torch
import yaml
from conftest import FLOWERS17, REPO_ROOT, run_tool, write_tiny_redo_config
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import save_checkpoint
from mmseg.registry import DATASETS, MODELS

from mmseg_redo.benchmark import (TABLE_START, estimate_train_time,
                                  evaluate_config, format_duration, score_row,
                                  write_benchmark_table)
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
SUPERVISED = '''
_base_ = [{synthetic!r}, {runtime!r}]
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[127.5] * 3, std=[127.5] * 3,
        bgr_to_rgb=True),
    backbone=dict(type='ReDOMaskEncoder', channels=8, num_res_blocks=1),
    decode_head=dict(
        type='ReDOPSPHead', in_channels=8, channels=8, pool_scales=(1, 2),
        num_classes=2, out_channels=2, dropout_ratio=0.0,
        norm_cfg=dict(type='GN', num_groups=4),
        loss_decode=dict(type='CrossEntropyLoss')),
    test_cfg=dict(mode='whole'))
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
    """Three rows: configs, checkpoints and the models behind them."""
    init_default_scope('mmseg')
    tmp = tmp_path_factory.mktemp('rows')
    redo_cfg = write_tiny_redo_config(str(tmp), extra=SYNTHETIC_TEST)
    sup_cfg = _write(tmp / 'supervised.py', SUPERVISED)
    gc_cfg = _write(tmp / 'grabcut.py', GRABCUT)
    models, checkpoints = {}, {}
    for name, config in (('redo', redo_cfg), ('supervised', sup_cfg)):
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(config).model)
        model.init_weights()
        if name == 'redo':
            model.object_index.fill_(1)
        checkpoints[name] = str(tmp / f'{name}.pth')
        save_checkpoint(
            dict(
                state_dict=model.state_dict(),
                meta=dict(dataset_meta=dict(OBJECT_METAINFO))),
            checkpoints[name])
        models[name] = model.eval()
    entries = dict(
        dataset='Synthetic',
        results=str(tmp / 'results.json'),
        rows=[
            dict(
                name='ReDO tiny',
                config=redo_cfg,
                checkpoint=osp.join(tmp, 'red*.pth'),
                labels='none',
                train_time=12.5,
                device='2 CPU cores',
                notes='untrained'),
            dict(
                name='Supervised tiny',
                config=sup_cfg,
                checkpoint=checkpoints['supervised'],
                labels='masks (8 images)',
                train_time='3 min'),
            dict(name='GrabCut', config=gc_cfg, labels='none'),
        ])
    entries_file = tmp / 'entries.yaml'
    entries_file.write_text(yaml.safe_dump(entries))
    return dict(
        entries=str(entries_file),
        configs=dict(redo=redo_cfg, supervised=sup_cfg, grabcut=gc_cfg),
        checkpoints=checkpoints,
        models=models,
        tmp=tmp)


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
    metafile = tmp_path / 'metafile.yaml'
    results = write_benchmark_table(
        rows['entries'],
        str(readme),
        metafile_path=str(metafile),
        json_out=str(tmp_path / 'rows.json'))
    by_name = {r['name']: r for r in results}

    # Independent numbers: GrabCut straight from OpenCV, ReDO and the
    # supervised model straight from their predict().
    samples = _test_samples(rows['configs']['grabcut'])
    gc_preds = [
        grabcut_mask(s['inputs'].permute(1, 2, 0).numpy(), 0.1, 2)
        for s in samples
    ]
    expected = {'GrabCut': _scores(gc_preds, samples)}
    for key, name in (('redo', 'ReDO tiny'), ('supervised',
                                              'Supervised tiny')):
        model = rows['models'][key]
        # Each row is scored on its own config's test split.
        row_samples = _test_samples(rows['configs'][key])
        with torch.no_grad():
            out = model.test_step(pseudo_collate(row_samples))
        expected[name] = _scores([o.pred_sem_seg.data[0].numpy() for o in out],
                                 row_samples)

    text = readme.read_text()
    assert text.startswith('# Intro kept')
    assert text.rstrip().endswith('Footer kept.')
    assert 'old table' not in text
    assert text.count(TABLE_START) == 1
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

    redo = rows['models']['redo']
    mask_params = sum(p.numel() for p in redo.mask_net.parameters())
    assert by_name['ReDO tiny']['params'] == dict(
        inference=mask_params, total=sum(p.numel() for p in redo.parameters()))
    assert by_name['GrabCut']['params'] == dict(inference=0, total=0)
    redo_cells = _cells(text, 'ReDO tiny')
    assert redo_cells[1] == 'none'
    assert redo_cells[8] == '12 min'  # 12.5 minutes, as given
    assert redo_cells[9] == '32x32'  # the synthetic test images
    assert '2 CPU cores; untrained' == redo_cells[11]
    assert _cells(text, 'Supervised tiny')[8] == '3 min'

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
    assert models['ReDO tiny']['Weights'] == rows['checkpoints']['redo']
    assert models['GrabCut']['Weights'] is None
    assert json.loads((tmp_path / 'rows.json').read_text())[0]['name'] == \
        'ReDO tiny'

    # A second run, of the command line, replaces the table instead of
    # adding one.
    run = run_tool('tools/benchmark_table.py', rows['entries'], '--readme',
                   readme, '--metafile', metafile)
    assert run.returncode == 0, run.stderr[-3000:]
    assert readme.read_text().count(TABLE_START) == 1


@pytest.mark.slow
def test_seeds_val_selection_raw_weights_and_a_second_table(rows, tmp_path):
    """A row of two runs shows their mean and each; ``select: val`` keeps
    the checkpoint best on val; ``weights: raw`` scores ema_state_dict; the
    ablation table goes into its own marked block."""
    model = rows['models']['redo']
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
    single = {
        name: evaluate_config(
            Config.fromfile(config), 'test', None, paths[name])['object_iou']
        for name in ('one', 'zero')
    }
    val = {
        name: evaluate_config(
            Config.fromfile(config), 'val', None, paths[name])['object_iou']
        for name in ('one', 'zero')
    }
    assert single['one'] != single['zero']
    entries = tmp_path / 'ablation.yaml'
    entries.write_text(
        yaml.safe_dump([
            dict(name='two runs', config=config,
                 checkpoint=[paths['one'], paths['zero']]),
            dict(name='best on val', config=config,
                 checkpoint=str(tmp_path / 'run_*' / 'iter_1.pth'),
                 select='val'),
            dict(name='raw', config=config, checkpoint=paths['ema'],
                 weights='raw'),
        ]))
    readme = tmp_path / 'README.md'
    readme.write_text('<!-- benchmark-table:start -->\nmain\n'
                      '<!-- benchmark-table:end -->\n')
    write_benchmark_table(
        str(entries),
        str(readme),
        marker='ablation-table',
        curves=True,
        results=str(tmp_path / 'results.json'))
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
    entries = tmp_path / 'entries.yaml'
    config = osp.join(REPO_ROOT,
                      'configs/baselines/grabcut_flowers17-128x128.py')
    entries.write_text(
        yaml.safe_dump(
            [dict(name='GrabCut 128', config=config, labels='none')]))
    readme = tmp_path / 'README.md'
    results = write_benchmark_table(
        str(entries),
        str(readme),
        metafile_path=str(tmp_path / 'm.yaml'),
        results=str(tmp_path / 'results.json'),
        cfg_options={
            'test_dataloader.dataset.data_root': FLOWERS17,
            'test_dataloader.num_workers': 1
        })
    m = results[0]['metrics']
    print('GrabCut 128x128 on Flowers-17 test:', m)
    assert m['object_iou'] == pytest.approx(0.825, abs=0.015)
    assert m['mIoU'] / 100 == pytest.approx(0.876, abs=0.015)
    assert m['aAcc'] / 100 == pytest.approx(0.946, abs=0.01)
    cells = _cells(readme.read_text(), 'GrabCut 128')
    assert cells[2] == f"{m['object_iou']:.3f}"
    assert cells[9] == '128x128'


@needs_flowers17
def test_supervised_training_list_is_train_txt_with_masks():
    listed = [
        ln.strip() for ln in open(
            osp.join(REPO_ROOT,
                     'configs/baselines/flowers17_train_masked.txt'))
        if ln.strip() and not ln.startswith('#')
    ]
    train = [
        ln.strip() for ln in open(osp.join(FLOWERS17, 'train.txt'))
        if ln.strip()
    ]
    masked = [
        s for s in train
        if osp.isfile(osp.join(FLOWERS17, 'masks', s + '.png'))
    ]
    assert listed == masked and len(listed) == 400
    held_out = set()
    for split in ('val.txt', 'test.txt'):
        held_out |= {ln.strip() for ln in open(osp.join(FLOWERS17, split))}
    assert not held_out & set(listed)
    for name in ('redo-masknet_supervised_flowers17-64x64',
                 'unet-s5-d16_fcn_supervised_flowers17-64x64'):
        cfg = Config.fromfile(
            osp.join(REPO_ROOT, 'configs', 'baselines', name + '.py'))
        cfg.train_dataloader.dataset.data_root = FLOWERS17
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        assert len(dataset) == 400
        sample = dataset[0]
        gt = sample['data_samples'].gt_sem_seg.data
        assert tuple(gt.shape[-2:]) == (64, 64)
        assert set(np.unique(gt.numpy())) <= {0, 1, 255}
