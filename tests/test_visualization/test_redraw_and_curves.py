"""Tests of the redraw grid, its training hook, redraw_demo and plot_curves.

Everything runs on tiny synthetic models and data (16x16 images), so no
dataset is needed.
"""
import json
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from conftest import run_tool, write_tiny_redo_config
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, save_checkpoint
from mmseg.registry import MODELS

from mmseg_redo.datasets.base import OBJECT_METAINFO
from mmseg_redo.visualization import (compute_redraws, draw_redraw_grid,
                                      redraw_grid)
from mmseg_redo.visualization.curves import (find_scalars, plot_comparison,
                                             plot_curves, read_scalars)
from mmseg_redo.visualization.redraw_grid import GAP, HEADER_HEIGHT


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A tiny ReDO (16x16, untrained) and a batch of its inputs."""
    directory = tmp_path_factory.mktemp('tiny')
    cfg = Config.fromfile(write_tiny_redo_config(str(directory)))
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    torch.manual_seed(1)
    inputs = torch.rand(3, 3, 16, 16) * 2 - 1
    return cfg, model, inputs, directory


def test_redraws_keep_the_other_region(tiny):
    """A redraw changes a pixel by at most 2x the redrawn region's mask."""
    _, model, inputs, _ = tiny
    model.object_index.fill_(1)
    out = compute_redraws(model, inputs, num_redraws=2, seed=0)
    masks = out['masks']
    assert out['object'].shape == (3, 2, 3, 16, 16)
    assert out['background'].shape == (3, 2, 3, 16, 16)
    assert int(out['object_index']) == 1
    # composite = tanh(.) * M + (1 - M) * I, |tanh| <= 1, |I| <= 1
    for key, region in (('object', 1), ('background', 0)):
        change = (out[key] - inputs[:, None]).abs().amax(dim=2)
        bound = 2 * masks[:, None, region] + 1e-5
        assert torch.all(change <= bound), key
    # The object redraws differ from the background redraws.
    assert not torch.allclose(out['object'], out['background'])


def test_redraws_are_seeded_and_leave_the_global_rng(tiny):
    _, model, inputs, _ = tiny
    state = torch.get_rng_state()
    a = compute_redraws(model, inputs, num_redraws=2, seed=3)
    b = compute_redraws(model, inputs, num_redraws=2, seed=3)
    c = compute_redraws(model, inputs, num_redraws=2, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a['object'], b['object'])
    assert not torch.equal(a['object'], c['object'])
    # The redraws of one image differ from each other (different z).
    assert not torch.equal(a['object'][:, 0], a['object'][:, 1])


def test_grid_layout_and_overlay():
    """Tiles land where they belong; only masked pixels are tinted."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    masks = np.zeros((2, 16, 16))
    masks[:, 4:12, 4:12] = 0.9
    obj = rng.integers(0, 256, (2, 3, 16, 16, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (2, 3, 16, 16, 3), dtype=np.uint8)
    grid = draw_redraw_grid(images, masks, obj, bg, tile_size=32)
    step = 32 + GAP
    assert grid.dtype == np.uint8
    assert grid.shape == (HEADER_HEIGHT + 2 * step, 8 * step - GAP, 3)

    def tile(row, col):
        top = HEADER_HEIGHT + row * step
        return grid[top:top + 32, col * step:col * step + 32]

    def scaled(image):
        return mmcv.imresize(image, (32, 32), interpolation='nearest')

    # Columns: image, mask overlay, 3 object redraws, 3 background ones.
    np.testing.assert_array_equal(tile(1, 0), scaled(images[1]))
    np.testing.assert_array_equal(tile(0, 2), scaled(obj[0, 0]))
    np.testing.assert_array_equal(tile(1, 7), scaled(bg[1, 2]))
    overlay, plain = tile(0, 1), scaled(images[0])
    inside = np.zeros((32, 32), bool)
    inside[8:24, 8:24] = True
    np.testing.assert_array_equal(overlay[~inside], plain[~inside])
    assert np.abs(overlay[inside].astype(int) -
                  plain[inside].astype(int)).mean() > 10


def test_redraw_grid_restores_train_mode(tiny):
    _, model, inputs, _ = tiny
    model.train()
    grid = redraw_grid(model, inputs[:2], num_redraws=1, tile_size=16)
    assert model.training
    model.eval()
    assert grid.shape == (HEADER_HEIGHT + 2 * (16 + GAP), 4 * (16 + GAP) - GAP,
                          3)


def _train(directory, extra: str = ''):
    """Train the tiny config for 2 iterations in this process."""
    directory.mkdir()
    cfg = Config.fromfile(
        write_tiny_redo_config(
            str(directory), max_iters=2, ckpt_interval=2, extra=extra))
    if not extra:
        # The toy config (which the tiny one inherits) draws grids too.
        cfg.default_hooks.pop('redraw', None)
    cfg.work_dir = str(directory)
    cfg.experiment_name = osp.basename(str(directory))
    # mmengine keeps one visualizer per name for the whole process: a name
    # of its own stops this run reusing an earlier test's (and save_dir).
    cfg.visualizer.name = str(directory)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


HOOK = '''
default_hooks = dict(redraw=dict(
    type='RedrawVisualizationHook', interval=1, num_images=2,
    num_redraws=2))
vis_backends = [dict(type='LocalVisBackend'),
                dict(type='TensorboardVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends,
                  name='visualizer')
'''


def test_hook_writes_grids_and_leaves_training_alone(tmp_path):
    """Grids go to the work dir, the local backend and TensorBoard, and
    the trained weights are those of a run without the hook."""
    with_hook = _train(tmp_path / 'hook', HOOK)
    without = _train(tmp_path / 'plain')
    for step in (1, 2):
        grid = mmcv.imread(
            str(tmp_path / 'hook' / 'redraws' / f'iter_{step:06d}.png'))
        # 2 rows of 16x16 images shown at 96 px; 2 + 2 * 2 columns.
        assert grid.shape == (HEADER_HEIGHT + 2 * 98, 6 * 98 - GAP, 3)
    local = list(
        (tmp_path / 'hook').glob('*/vis_data/vis_image/redraws_2.png'))
    assert len(local) == 1
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    events = list((tmp_path / 'hook').glob('*/vis_data/events.out.*'))
    assert events
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    assert 'redraws' in acc.Tags()['images']
    assert [e.step for e in acc.Images('redraws')] == [1, 2]
    for (name, a), b in zip(with_hook.model.state_dict().items(),
                            without.model.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


@pytest.mark.slow
def test_redraw_demo_tool(tiny, tmp_path):
    """The CLI writes one row per image, 2 + 2K columns."""
    cfg, model, _, directory = tiny
    checkpoint = str(tmp_path / 'tiny.pth')
    # As the Runner writes it: init_model reads classes from dataset_meta.
    save_checkpoint(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(OBJECT_METAINFO))), checkpoint)
    images = []
    for i, (w, h) in enumerate([(16, 16), (40, 24)]):
        path = str(tmp_path / f'img{i}.png')
        mmcv.imwrite(np.full((h, w, 3), 60 * i, np.uint8), path)
        images.append(path)
    out = str(tmp_path / 'grid.png')
    run = run_tool('tools/redraw_demo.py', cfg.filename, checkpoint, *images,
                   '--out', out, '--num-redraws', '2', '--tile-size', '32')
    assert run.returncode == 0, run.stderr[-3000:]
    grid = mmcv.imread(out)
    assert grid.shape == (HEADER_HEIGHT + 2 * (32 + GAP), 6 * (32 + GAP) - GAP,
                          3)


def test_plot_curves(tmp_path):
    run = tmp_path / 'run' / '20240101_000000' / 'vis_data'
    run.mkdir(parents=True)
    records = [
        dict(iter=1, step=1, loss_gan=1.0, loss_z=4.0, time=0.1),
        dict(iter=2, step=2, loss_gan=0.5, loss_z=3.0, time=0.1),
        dict(mIoU=40.0, object_iou=0.3, aAcc=70.0, step=2),
        dict(iter=3, step=3, loss_gan=0.2, loss_z=2.0, time=0.1),
        dict(mIoU=60.0, object_iou=0.5, aAcc=80.0, step=4),
    ]
    (run /
     'scalars.json').write_text('\n'.join(json.dumps(r)
                                          for r in records) + '\n')
    out = str(tmp_path / 'curves.png')
    train, val = read_scalars(find_scalars(str(tmp_path / 'run')))
    plot_curves(train, val, out)
    assert train['loss_z'] == ([1, 2, 3], [4.0, 3.0, 2.0])
    assert val['object_iou'] == ([2, 4], [0.3, 0.5])
    assert val['mIoU'] == ([2, 4], [0.4, 0.6])  # percent -> fraction
    picture = mmcv.imread(out)
    assert picture.shape[0] > 200 and picture.shape[1] > 400


@pytest.mark.slow
def test_plot_curves_compares_runs(tmp_path):
    for name, values in (('a', [0.3, 0.5]), ('b', [0.6, 0.4])):
        run = tmp_path / name / '20240101_000000' / 'vis_data'
        run.mkdir(parents=True)
        (run / 'scalars.json').write_text('\n'.join(
            json.dumps(dict(object_iou=v, step=s))
            for s, v in zip((250, 500), values)) + '\n')
    out = str(tmp_path / 'compare.png')
    runs = {
        label: read_scalars(find_scalars(str(tmp_path / name)))[1]
        for label, name in (('old', 'a'), ('new', 'b'))
    }
    plot_comparison(runs, out)
    assert runs['new']['object_iou'] == ([250, 500], [0.6, 0.4])
    assert mmcv.imread(out).shape[1] > 400
    # The command line names each run, or refuses.
    run = run_tool('tools/analysis_tools/plot_curves.py', tmp_path / 'a',
                   tmp_path / 'b', '--labels', 'x', '--out', out)
    assert run.returncode == 1
    assert '2 runs but 1 labels' in run.stderr
