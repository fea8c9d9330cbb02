"""Tests of the object-region choice, the training time budget and the
hooks' shared runner helpers."""
import copy
import logging
from types import SimpleNamespace

import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_redo.engine.hooks import (MaskAssignmentHook, SafeCheckpointHook,
                                    TrainTimeBudgetHook)
from mmseg_redo.utils import model_device, optimizers_of, unwrap_model
from conftest import FakeReDO


def _sample(gt: torch.Tensor) -> SegDataSample:
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=gt[None])
    return sample


def test_mask_assignment_picks_the_region_that_covers_the_object():
    gt = torch.zeros(8, 8, dtype=torch.long)
    gt[2:6, 2:6] = 1
    gt[0, :] = 255  # ignored pixels count for no region
    obj = (gt == 1).float()
    # Region 2 is the object; region 0 the background, region 1 nothing.
    masks = torch.stack([1 - obj, torch.zeros(8, 8), obj])[None].repeat(
        2, 1, 1, 1)
    model = FakeReDO(masks)
    batch = dict(
        inputs=torch.zeros(2, 3, 8, 8), data_samples=[_sample(gt)] * 2)
    runner = SimpleNamespace(
        model=model, val_dataloader=[batch],
        logger=logging.getLogger('test'),
        message_hub=MessageHub.get_instance('test_mask_assignment'))
    MaskAssignmentHook().before_val_epoch(runner)
    assert int(model.object_index) == 2
    # Swap the roles: now region 0 covers the object.
    model.mask_net.masks = masks[:, [2, 1, 0]]
    MaskAssignmentHook().before_val_epoch(runner)
    assert int(model.object_index) == 0


def _budget_runner(iteration: int, max_iters: int):
    return SimpleNamespace(
        iter=iteration,
        train_loop=SimpleNamespace(max_iters=max_iters, _max_iters=max_iters),
        logger=logging.getLogger('test'))


def test_time_budget_ends_training_at_the_current_iteration():
    hook = TrainTimeBudgetHook(minutes=1e-9)
    runner = _budget_runner(iteration=6, max_iters=100)
    hook.before_train(runner)
    hook.after_train_iter(runner, batch_idx=6)
    assert runner.train_loop._max_iters == 7


def test_no_budget_leaves_the_schedule_alone():
    for hook in (TrainTimeBudgetHook(), TrainTimeBudgetHook(minutes=60)):
        runner = _budget_runner(iteration=6, max_iters=100)
        hook.before_train(runner)
        hook.after_train_iter(runner, batch_idx=6)
        assert runner.train_loop._max_iters == 100


def test_runner_helpers_see_through_model_wrappers():
    model = nn.Linear(2, 1)
    # DataParallel is one of mmengine's MODEL_WRAPPERS; on CPU it only holds
    # the model.
    wrapped = nn.DataParallel(model)
    assert unwrap_model(wrapped) is model
    assert unwrap_model(model) is model
    # A child that happens to be called 'module' is no wrapper.
    holder = nn.Module()
    holder.module = model
    assert unwrap_model(holder) is holder
    assert model_device(wrapped) == torch.device('cpu')
    assert model_device(nn.Identity()) == torch.device('cpu')


def test_runner_helpers_list_every_optimizer():
    params = list(nn.Linear(2, 1).parameters())
    first = torch.optim.SGD(params, lr=0.1)
    second = torch.optim.Adam(params)
    assert optimizers_of(OptimWrapper(first)) == [first]
    assert optimizers_of(
        OptimWrapperDict(a=OptimWrapper(first),
                         b=OptimWrapper(second))) == [first, second]
    # Before training, runner.optim_wrapper is still its config.
    assert optimizers_of(dict(type='OptimWrapper')) == []


def test_checkpoints_with_one_optimizer_per_network_resume():
    """An old checkpoint's three generator-side Adam states, merged by
    SafeCheckpointHook before the runner loads them, continue exactly as
    the three optimizers would have."""
    torch.manual_seed(0)
    nets = dict(region_generators=nn.Linear(3, 2), z_encoder=nn.Linear(2, 2),
                mask_net=nn.Conv2d(1, 1, 3))
    settings = dict(region_generators=dict(lr=1e-2),
                    z_encoder=dict(lr=1e-2),
                    mask_net=dict(lr=1e-3, weight_decay=1e-4))
    old = {
        name: torch.optim.Adam(net.parameters(), betas=(0.0, 0.9),
                               **settings[name])
        for name, net in nets.items()
    }

    def fill_grads(step):
        for i, p in enumerate(
                p for net in nets.values() for p in net.parameters()):
            p.grad = torch.full_like(p, 0.1 * (i + 1) * (step + 1))

    for step in range(2):
        fill_grads(step)
        for opt in old.values():
            opt.step()
    # A copy, as a checkpoint read from disk is (state_dict() shares the
    # moment tensors with the optimizers).
    checkpoint = copy.deepcopy(
        dict(optimizer={name: opt.state_dict()
                        for name, opt in old.items()}))
    checkpoint['optimizer']['discriminator'] = {'kept': True}
    runner = SimpleNamespace(cfg=dict(optim_wrapper=dict(
        generator=dict(modules=settings))))
    SafeCheckpointHook().after_load_checkpoint(runner, checkpoint)
    assert set(checkpoint['optimizer']) == {'generator', 'discriminator'}

    merged = torch.optim.Adam(
        [dict(params=list(net.parameters())) for net in nets.values()],
        betas=(0.0, 0.9))
    merged.load_state_dict(checkpoint['optimizer']['generator'])
    assert [g['lr'] for g in merged.param_groups] == [1e-2, 1e-2, 1e-3]
    assert merged.param_groups[2]['weight_decay'] == 1e-4
    twin = {name: [p.detach().clone() for p in net.parameters()]
            for name, net in nets.items()}
    fill_grads(2)
    merged.step()
    after_merged = [p.detach().clone()
                    for net in nets.values() for p in net.parameters()]
    # The three old optimizers take the same step from the same weights.
    for name, net in nets.items():
        for p, saved in zip(net.parameters(), twin[name]):
            p.data.copy_(saved)
    fill_grads(2)
    for opt in old.values():
        opt.step()
    after_old = [p.detach() for net in nets.values() for p in net.parameters()]
    for a, b in zip(after_merged, after_old):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)
