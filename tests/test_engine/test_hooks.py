"""Tests of the object-region choice, the training time budget and the
hooks' shared runner helpers."""
import logging
from types import SimpleNamespace

import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_redo.engine.hooks import MaskAssignmentHook, TrainTimeBudgetHook
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
