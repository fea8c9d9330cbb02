"""Distributed training with tools/dist_train.sh: 2 CPU processes (gloo)."""
import os.path as osp
import socket
import subprocess
import textwrap

import pytest
import torch
import torch.distributed as dist

import mmseg_redo  # noqa: F401

from conftest import REPO_ROOT, VENV_PYTHON, tiny_run_env, \
    write_tiny_redo_config

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()),
    reason='torch.distributed with the gloo backend is not available')

#: A hook, imported by the workers, that saves each rank's weights.
DUMP_HOOK = textwrap.dedent('''
    import torch
    from mmengine.dist import get_rank
    from mmengine.hooks import Hook
    from mmengine.runner.checkpoint import get_state_dict
    from mmseg.registry import HOOKS


    @HOOKS.register_module()
    class DumpRankWeightsHook(Hook):

        def _dump(self, runner, tag):
            state = get_state_dict(runner.model)
            torch.save({k: v.detach().cpu().clone() for k, v in state.items()},
                       f'{runner.work_dir}/{tag}_rank{get_rank()}.pth')

        def before_train(self, runner):
            self._dump(runner, 'start')
            # Force a mask collapse (region 1 empty) on every rank, so that
            # CollapseRestartHook restarts at iteration 2.
            model = getattr(runner.model, 'module', runner.model)
            conv_seg = model.mask_net.module.head.conv_seg
            with torch.no_grad():
                conv_seg.bias.copy_(torch.tensor([30.0, -30.0]))

        def after_train(self, runner):
            self._dump(runner, 'end')

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter == 0:  # the codes z this rank draws first
                model = getattr(runner.model, 'module', runner.model)
                state = torch.random.get_rng_state()
                torch.save(model.sample_z(2),
                           f'{runner.work_dir}/z_rank{get_rank()}.pth')
                torch.random.set_rng_state(state)
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dist_train_two_cpu_processes(tmp_path):
    """dist_train.sh CONFIG 2 trains with MMSeparateDistributedDataParallel
    on gloo (chosen because no GPU is visible): both ranks end with the same
    weights, which moved from the start, also across a collapse restart and
    a validation; ranks draw different codes; the checkpoint has plain keys
    and loads into an unwrapped model."""
    (tmp_path / 'dump_rank_weights.py').write_text(DUMP_HOOK)
    max_iters = 4
    config = write_tiny_redo_config(
        tmp_path,
        max_iters=max_iters,
        ckpt_interval=max_iters,
        validate=True,
        extra=textwrap.dedent('''
            custom_imports = dict(
                imports=['mmseg_redo', 'dump_rank_weights'],
                allow_failed_imports=False)
            custom_hooks = [
                dict(type='MaskAssignmentHook'),
                dict(type='IterationSeedHook'),
                dict(type='NonFiniteLossHook'),
                dict(type='CollapseRestartHook', interval=2, window=2,
                     val_batches=1, restart_until=2),
                dict(type='DumpRankWeightsHook'),
            ]
        '''))
    work_dir = str(tmp_path / 'work')
    env = tiny_run_env(
        dict(
            PYTHON=VENV_PYTHON,
            PORT=str(_free_port()),
            CUDA_VISIBLE_DEVICES=''))
    env['PYTHONPATH'] = f'{tmp_path}:{env["PYTHONPATH"]}'
    out = subprocess.run([
        'bash',
        osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), config, '2',
        '--work-dir', work_dir
    ],
                         env=env,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    with open(osp.join(work_dir, osp.basename(config))) as f:
        assert "backend='gloo'" in f.read()  # the config the run used
    assert (out.stdout + out.stderr).count('RESTART') == 1  # rank 0 logs

    def load(name):
        return torch.load(osp.join(work_dir, name), weights_only=True)

    start = [load(f'start_rank{r}.pth') for r in range(2)]
    end = [load(f'end_rank{r}.pth') for r in range(2)]
    for key in end[0]:
        assert torch.equal(start[0][key], start[1][key]), key
        assert torch.equal(end[0][key], end[1][key]), key
    moved = [k for k in end[0] if not torch.equal(end[0][k], start[0][k])]
    for net in ('mask_net', 'region_generators', 'z_encoder', 'discriminator'):
        assert any(k.startswith(net + '.') for k in moved), net
    assert not torch.equal(load('z_rank0.pth'), load('z_rank1.pth'))

    checkpoint = load(f'iter_{max_iters}.pth')
    assert set(checkpoint['state_dict']) == set(end[0])  # no '.module.'
    for key, value in end[0].items():
        assert torch.equal(checkpoint['state_dict'][key], value), key

    from mmseg.apis import init_model
    plain_config = write_tiny_redo_config(tmp_path, name='plain.py')
    model = init_model(plain_config, osp.join(work_dir,
                                              f'iter_{max_iters}.pth'), 'cpu')
    for key, value in model.state_dict().items():
        assert torch.equal(value, end[0][key]), key
