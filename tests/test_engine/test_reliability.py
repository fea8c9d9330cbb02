"""Reliability of training: resume, crash-safe checkpoints, collapse
restarts, non-finite losses and safe checkpoint loading (issue 7).

Every test trains a tiny ReDO (16x16 synthetic images, batch 4) on the CPU
for a few iterations; the whole file takes about a minute on 2 cores.
"""
import os
import os.path as osp
import pickle
import signal
import subprocess
import time

import pytest
import torch
from mmengine.fileio import LocalBackend
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint

import mmseg_redo  # noqa: F401
from mmseg_redo.engine.hooks import CollapseRestartHook
from mmseg_redo.engine.hooks.safe_checkpoint_hook import TMP_SUFFIX

from conftest import (build_tiny_redo_runner, tiny_run_env, train_command,
                      write_tiny_redo_config)

MAX_ITERS = 10
CKPT_INTERVAL = 2


@pytest.fixture(autouse=True)
def single_thread_mmseg_scope():
    """mmseg registry scope; one thread (fast, reproducible, shared CPU)."""
    init_default_scope('mmseg')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _custom_hooks(**overrides) -> list:
    """The schedule's custom hooks, with some hooks' arguments replaced.

    Args:
        **overrides: ``HookType=dict(arguments)``; ``HookType=None`` drops
            the hook.
    """
    from mmengine.config import Config
    from conftest import REPO_ROOT
    hooks = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'schedules',
                 'redo_40k.py')).custom_hooks
    result = []
    for hook in hooks:
        hook = dict(hook)
        if hook['type'] in overrides:
            if overrides[hook['type']] is None:
                continue
            hook.update(overrides[hook['type']])
        result.append(hook)
    return result


def _unwrap(model):
    return getattr(model, 'module', model)


def _optimizer_states(runner) -> dict:
    return {
        name: wrapper.optimizer.state_dict()['state']
        for name, wrapper in runner.optim_wrapper.items()
    }


def _assert_same_tensors(a, b, what: str) -> None:
    """Nested dicts/lists of tensors are bitwise equal."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), what
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), what
        for key in a:
            _assert_same_tensors(a[key], b[key], f'{what}/{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), what
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_tensors(x, y, f'{what}[{i}]')
    else:
        assert a == b, what


# ---------------------------------------------------------------------------
# 1. Resume after SIGKILL
# ---------------------------------------------------------------------------
@pytest.fixture(scope='module')
def uninterrupted_run(tmp_path_factory):
    """tools/train.py run for MAX_ITERS iterations without interruption."""
    root = tmp_path_factory.mktemp('uninterrupted')
    config = write_tiny_redo_config(
        root, max_iters=MAX_ITERS, ckpt_interval=CKPT_INTERVAL)
    work_dir = str(root / 'work')
    subprocess.run(
        train_command(config, work_dir),
        env=tiny_run_env(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300)
    return config, work_dir


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted_run(uninterrupted_run,
                                                      tmp_path):
    """A run killed (SIGKILL) after a checkpoint and resumed with --resume
    ends with the same weights and optimizer states, bit for bit, as the
    uninterrupted run with the same seed."""
    config, reference_dir = uninterrupted_run
    work_dir = str(tmp_path / 'killed')
    pointer = osp.join(work_dir, 'last_checkpoint')
    log = open(tmp_path / 'killed.log', 'w')
    proc = subprocess.Popen(
        train_command(config, work_dir),
        env=tiny_run_env(),
        stdout=log,
        stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    while not osp.exists(pointer) and proc.poll() is None:
        assert time.time() < deadline, 'no checkpoint within 240 s'
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, 'run ended before the kill'
    with open(pointer) as f:
        latest = f.read().strip()
    killed_at = torch.load(latest, weights_only=True)['meta']['iter']
    assert CKPT_INTERVAL <= killed_at < MAX_ITERS

    out = subprocess.run(
        train_command(config, work_dir, '--resume'),
        env=tiny_run_env(),
        capture_output=True,
        text=True,
        timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f'resumed epoch: 0, iter: {killed_at}' in out.stdout + out.stderr

    final = f'iter_{MAX_ITERS}.pth'
    resumed = torch.load(osp.join(work_dir, final), weights_only=True)
    reference = torch.load(osp.join(reference_dir, final), weights_only=True)
    _assert_same_tensors(reference['state_dict'], resumed['state_dict'],
                         'state_dict')
    _assert_same_tensors(reference['optimizer'], resumed['optimizer'],
                         'optimizer')
    assert resumed['meta']['iter'] == MAX_ITERS


class _Killed(BaseException):
    """Stands for SIGKILL: nothing catches it, nothing after it runs."""


def _die_halfway_through(path_part: str):
    """A LocalBackend.put that writes half the bytes of a matching file and
    dies, as a process killed during the write."""
    real_put = LocalBackend.put

    def put(self, obj, filepath):
        if path_part in str(filepath):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            raise _Killed(filepath)
        return real_put(self, obj, filepath)

    return put


@pytest.mark.parametrize('max_keep_ckpts', [1, -1])
def test_kill_during_checkpoint_write_keeps_latest_loadable(
        tmp_path, monkeypatch, max_keep_ckpts):
    """Killed while writing iter_4, the work dir still resumes from iter_2
    (also with max_keep_ckpts=1, where mmengine deletes iter_2 first), and
    the half-written file is cleaned up."""
    options = dict(
        default_hooks=dict(checkpoint=dict(max_keep_ckpts=max_keep_ckpts)))
    runner = build_tiny_redo_runner(
        tmp_path, 'run', cfg_options=options, max_iters=6)
    with monkeypatch.context() as patch:
        patch.setattr(LocalBackend, 'put', _die_halfway_through('iter_4'))
        with pytest.raises(_Killed):
            runner.train()
    work_dir = runner.work_dir
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        latest = f.read().strip()
    assert osp.basename(latest) == 'iter_2.pth'
    assert torch.load(latest, weights_only=True)['meta']['iter'] == 2
    assert not osp.exists(osp.join(work_dir, 'iter_4.pth'))
    assert osp.exists(osp.join(work_dir, 'iter_4.pth' + TMP_SUFFIX))

    options['resume'] = True
    options['work_dir'] = work_dir
    resumed = build_tiny_redo_runner(
        tmp_path, 'resumed', cfg_options=options, max_iters=6)
    resumed.train()
    assert resumed.iter == 6
    assert osp.exists(osp.join(work_dir, 'iter_6.pth'))
    assert not any(f.endswith(TMP_SUFFIX) for f in os.listdir(work_dir))


def test_kill_during_pointer_write_keeps_previous_pointer(
        tmp_path, monkeypatch):
    """last_checkpoint is replaced atomically: killed while writing it, the
    old pointer (to a complete file) stays."""
    runner = build_tiny_redo_runner(tmp_path, 'run', max_iters=4)
    real_replace = os.replace

    def replace(src, dst):
        if osp.basename(dst) == 'last_checkpoint' and osp.exists(dst):
            raise _Killed(dst)  # the second pointer update dies
        return real_replace(src, dst)

    with monkeypatch.context() as patch:
        patch.setattr(os, 'replace', replace)
        with pytest.raises(_Killed):
            runner.train()
    with open(osp.join(runner.work_dir, 'last_checkpoint')) as f:
        latest = f.read().strip()
    assert osp.basename(latest) == 'iter_2.pth'
    torch.load(latest, weights_only=True)  # complete
    # The newer checkpoint itself was complete before the pointer moved.
    torch.load(osp.join(runner.work_dir, 'iter_4.pth'), weights_only=True)


# ---------------------------------------------------------------------------
# 2. Collapse restarts
# ---------------------------------------------------------------------------
def _collapse(runner) -> None:
    """Region 1 gets (almost) no pixel, on every image."""
    conv_seg = _unwrap(runner.model).mask_net.head.conv_seg
    with torch.no_grad():
        conv_seg.bias.copy_(torch.tensor([30.0, -30.0]))


def _collapse_runner(tmp_path, name: str, restart_until: int):
    hooks = _custom_hooks(
        CollapseRestartHook=dict(
            interval=2, window=2, val_batches=1, restart_until=restart_until))
    runner = build_tiny_redo_runner(
        tmp_path,
        name,
        cfg_options=dict(custom_hooks=hooks),
        max_iters=2,
        ckpt_interval=100,
        validate=True,
        val_interval=100)
    return runner


def test_collapse_restarts_networks_and_optimizers(tmp_path):
    """Before restart_until, a collapse re-initialises all four networks as
    a new model and clears every optimizer state."""
    runner = _collapse_runner(tmp_path, 'restart', restart_until=7000)

    class Collapse(Hook):

        def before_train(self, runner):
            _collapse(runner)

    runner.register_hook(Collapse(), priority='LOWEST')
    runner.train()

    hub = runner.message_hub
    assert hub.get_info('collapse_restarts') == 1
    model = _unwrap(runner.model)
    # Exactly the weights of a newly built and initialised model...
    fresh = CollapseRestartHook._fresh_state(runner, iteration=2)
    fresh.pop('object_index')  # set by the validation after the restart
    for key, value in fresh.items():
        assert torch.equal(model.state_dict()[key], value), key
    assert model.mask_net.head.conv_seg.bias.abs().max() < 1
    # ... and fresh Adam states.
    for name, state in _optimizer_states(runner).items():
        assert state == {}, name
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        assert 'RESTART' in f.read()


def test_collapse_after_limit_only_warns(tmp_path):
    """After restart_until, a collapse is logged but nothing is reset."""
    runner = _collapse_runner(tmp_path, 'warn', restart_until=1)

    class Collapse(Hook):

        def before_train(self, runner):
            _collapse(runner)

    runner.register_hook(Collapse(), priority='LOWEST')
    runner.train()

    hub = runner.message_hub
    assert hub.get_info('collapse_restarts', 0) == 0
    assert hub.get_info('collapse_warnings') == 1
    bias = _unwrap(runner.model).mask_net.head.conv_seg.bias
    assert bias[0] > 29 and bias[1] < -29  # untouched, apart from 2 steps
    for name, state in _optimizer_states(runner).items():
        assert state, name
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        log = f.read()
    assert 'restarts stop after iteration 1' in log and 'RESTART' not in log


# ---------------------------------------------------------------------------
# 3. Non-finite losses
# ---------------------------------------------------------------------------
class InjectNaN(Hook):
    """Make the discriminator output NaN during one iteration (0-based)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            linear = _unwrap(runner.model).discriminator.linear
            with torch.no_grad():
                _unwrap(linear).bias.fill_(float('nan'))


def test_nan_loss_stops_before_checkpoint(tmp_path):
    """action='raise': a NaN at a checkpoint iteration stops training with
    an error naming the iteration and the loss; no NaN checkpoint is
    written and last_checkpoint still names the last good one."""
    runner = build_tiny_redo_runner(tmp_path, 'raise', max_iters=6)
    # After NonFiniteLossHook's snapshot (a no-op in this mode).
    runner.register_hook(InjectNaN(at=3), priority='LOWEST')
    with pytest.raises(FloatingPointError) as error:
        runner.train()
    message = str(error.value)
    assert 'iteration 4' in message and 'loss_gan=nan' in message
    assert 'iter_2.pth' in message
    files = sorted(f for f in os.listdir(runner.work_dir) if '.pth' in f)
    assert files == ['iter_2.pth']
    with open(osp.join(runner.work_dir, 'last_checkpoint')) as f:
        latest = f.read().strip()
    state = torch.load(latest, weights_only=True)['state_dict']
    assert all(
        torch.isfinite(v).all() for v in state.values()
        if v.is_floating_point())


def test_nonfinite_weights_are_never_saved(tmp_path):
    """Even with finite losses, a checkpoint of non-finite weights is
    refused."""
    runner = build_tiny_redo_runner(tmp_path, 'weights', max_iters=2)

    class PoisonAfterLossCheck(Hook):

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None):
            if runner.iter != 1:  # the last iteration, checkpointed
                return
            with torch.no_grad():
                _unwrap(runner.model).z_encoder.linear.bias.fill_(float('inf'))

    runner.register_hook(PoisonAfterLossCheck(), priority='LOW')
    with pytest.raises(FloatingPointError, match='Refusing to save'):
        runner.train()
    assert not any('.pth' in f for f in os.listdir(runner.work_dir))
    assert not osp.exists(osp.join(runner.work_dir, 'last_checkpoint'))


def test_nan_loss_skip_mode_undoes_the_step(tmp_path):
    """action='skip': the NaN iteration is undone (weights, buffers and
    optimizer states exactly as before it), counted, and training goes on.
    """
    hooks = _custom_hooks(NonFiniteLossHook=dict(action='skip'))
    runner = build_tiny_redo_runner(
        tmp_path, 'skip', cfg_options=dict(custom_hooks=hooks), max_iters=4)
    seen = {}

    def snapshot(runner):
        return pickle.loads(
            pickle.dumps(
                (runner.model.state_dict(), _optimizer_states(runner))))

    class Before(Hook):

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter == 2:
                seen['before'] = snapshot(runner)

    class After(Hook):

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None):
            if runner.iter == 2:
                seen['loss_gan'] = float(outputs['loss_gan'].detach())
                seen['after'] = snapshot(runner)

    runner.register_hook(Before(), priority='HIGHEST')
    runner.register_hook(InjectNaN(at=2), priority='LOWEST')
    runner.register_hook(After(), priority='LOWEST')  # after the restore
    runner.train()

    assert runner.iter == 4
    assert runner.message_hub.get_info('nonfinite_skips') == 1
    assert seen['loss_gan'] != seen['loss_gan']  # that step's loss was NaN
    _assert_same_tensors(seen['before'], seen['after'], 'state')
    state = runner.model.state_dict()
    assert all(
        torch.isfinite(v).all() for v in state.values()
        if v.is_floating_point())


# ---------------------------------------------------------------------------
# 5. Safe and clear checkpoint loading
# ---------------------------------------------------------------------------
def test_train_checkpoints_load_with_weights_only(uninterrupted_run):
    """Checkpoints written by tools/train.py load with weights_only=True."""
    _, work_dir = uninterrupted_run
    checkpoint = torch.load(
        osp.join(work_dir, f'iter_{MAX_ITERS}.pth'), weights_only=True)
    assert {'meta', 'state_dict', 'optimizer',
            'message_hub'} <= set(checkpoint)
    assert 'mask_net.head.conv_seg.weight' in checkpoint['state_dict']


class _Payload:
    """Pickles as a call to os.makedirs: code run by unpickling."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.makedirs, (self.path, ))


def test_malicious_checkpoint_is_refused(tmp_path):
    """A checkpoint with a pickled callable is refused, and not run."""
    marker = str(tmp_path / 'pwned')
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'meta': _Payload(marker)}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    with pytest.raises(pickle.UnpicklingError) as error:
        _load_checkpoint(path)  # mmengine's loader: init_model, resume...
    assert path in str(error.value) and 'arbitrary code' in str(error.value)
    assert not osp.exists(marker)


def test_old_format_checkpoint_is_refused_then_converted(tmp_path):
    """Stock mmengine checkpoints pickle HistoryBuffer's methods through
    getattr, so weights-only loading refuses them; a trusted one converts.
    """
    from mmengine.logging import HistoryBuffer
    from mmseg_redo.utils.checkpoint import convert_trusted_checkpoint
    buffer = HistoryBuffer()
    buffer.update(1.5)
    path = str(tmp_path / 'old.pth')
    torch.save(
        {
            'state_dict': {
                'w': torch.ones(2)
            },
            'meta': {
                'iter': 2
            },
            'message_hub': {
                'log_scalars': {
                    'train/loss': buffer
                }
            },
        }, path)
    with pytest.raises(
            pickle.UnpicklingError, match='convert_trusted_checkpoint'):
        _load_checkpoint(path)
    convert_trusted_checkpoint(path)
    loaded = _load_checkpoint(path)
    restored = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(restored, HistoryBuffer) and restored.mean() == 1.5


def test_importing_the_package_replaces_the_local_loader(
        tmp_path, monkeypatch):
    """What mmseg_redo's docstring promises a user loading other
    checkpoints in the same process: mmengine's local loader is ours and
    always weights-only; mmengine's buffers and numpy content load; a plain
    torch state dict loads into any model as before."""
    from collections import OrderedDict

    import numpy as np
    from mmengine.logging import HistoryBuffer
    from mmengine.runner import CheckpointLoader

    from mmseg_redo.utils.checkpoint import (load_from_local,
                                             make_checkpoint_weights_only)
    local = CheckpointLoader._get_checkpoint_loader(str(tmp_path / 'a.pth'))
    assert local is load_from_local
    assert CheckpointLoader._get_checkpoint_loader(
        'https://example.org/a.pth') is not load_from_local

    buffer = HistoryBuffer()
    buffer.update(2.0)
    checkpoint = dict(
        state_dict=OrderedDict(w=torch.ones(2)),
        meta=dict(seed=np.int64(3), mean=np.float32(0.5)),
        message_hub=dict(
            log_scalars={'train/loss': buffer},
            runtime_info=dict(history=np.arange(3))))
    make_checkpoint_weights_only(checkpoint)  # as SafeCheckpointHook does
    path = str(tmp_path / 'mmengine.pth')
    torch.save(checkpoint, path)
    # The allow-list holds for every torch.load of the process.
    torch.load(path, weights_only=True)
    loaded = _load_checkpoint(path)
    assert loaded['meta']['seed'] == 3
    np.testing.assert_array_equal(
        loaded['message_hub']['runtime_info']['history'], np.arange(3))
    assert loaded['message_hub']['log_scalars']['train/loss'].mean() == 2.0

    torch.manual_seed(0)
    source, target = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    plain = str(tmp_path / 'plain.pth')
    torch.save(source.state_dict(), plain)
    load_checkpoint(target, plain, strict=True)
    torch.testing.assert_close(target.weight, source.weight)

    # torch's switch to turn the protection off does not reach it.
    marker = str(tmp_path / 'pwned')
    evil = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'meta': _Payload(marker)}, evil)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    with pytest.raises(pickle.UnpicklingError, match='arbitrary code'):
        _load_checkpoint(evil)
    assert not osp.exists(marker)


@pytest.fixture
def tiny_model_and_config(tmp_path):
    from mmengine.config import Config
    from mmseg.registry import MODELS
    config = write_tiny_redo_config(tmp_path)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    return model, config


def test_truncated_checkpoint_error_names_file(tiny_model_and_config,
                                               tmp_path):
    from mmseg.apis import init_model
    model, config = tiny_model_and_config
    path = str(tmp_path / 'truncated.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(RuntimeError) as error:
        init_model(config, path, device='cpu')
    assert path in str(error.value)
    assert 'truncated or corrupt' in str(error.value)


def _other_config_checkpoint(tmp_path) -> str:
    """A checkpoint of the tiny model with a wider mask net."""
    from mmengine.config import Config
    from mmseg.registry import MODELS
    cfg = Config.fromfile(write_tiny_redo_config(tmp_path, name='wide.py'))
    cfg.model.mask_net.encoder.channels = 16
    cfg.model.mask_net.head.in_channels = 16
    other = MODELS.build(cfg.model)
    path = str(tmp_path / 'other_config.pth')
    torch.save({'state_dict': other.state_dict(), 'meta': {}}, path)
    return path


def test_shape_mismatch_is_a_clear_error(tiny_model_and_config, tmp_path):
    """init_model, load_from and --resume refuse a checkpoint of another
    config with an error naming the file (mmengine would only warn)."""
    from mmseg.apis import init_model
    _, config = tiny_model_and_config
    path = _other_config_checkpoint(tmp_path)
    with pytest.raises(RuntimeError) as error:
        init_model(config, path, device='cpu')
    message = str(error.value)
    assert path in message and 'another config' in message
    assert 'mask_net.encoder' in message

    runner = build_tiny_redo_runner(
        tmp_path, 'load_from', cfg_options=dict(load_from=path))
    with pytest.raises(RuntimeError, match='another config'):
        runner.train()

    work_dir = str(tmp_path / 'resume')
    os.makedirs(work_dir)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(path)
    runner = build_tiny_redo_runner(
        tmp_path, 'resume', cfg_options=dict(resume=True, work_dir=work_dir))
    with pytest.raises(RuntimeError, match='another config'):
        runner.train()


def test_ddp_wrapped_keys_load(tiny_model_and_config, tmp_path):
    """Checkpoints whose keys hold DDP's '.module.' (written by mmengine
    under MMSeparateDistributedDataParallel) load instead of being skipped.
    """
    from mmengine.config import Config
    from mmseg.registry import MODELS
    model, config = tiny_model_and_config
    wrapped = {
        key if '.' not in key else key.replace('.', '.module.', 1): value
        for key, value in model.state_dict().items()
    }
    path = str(tmp_path / 'ddp_keys.pth')
    torch.save({'state_dict': wrapped, 'meta': {}}, path)
    other = MODELS.build(Config.fromfile(config).model)
    load_checkpoint(other, path)
    for key, value in model.state_dict().items():
        assert torch.equal(other.state_dict()[key], value), key
