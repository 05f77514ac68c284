# Copyright (c) mlcl_plugin authors. All rights reserved.
"""NonFiniteLossHook (finding 3 of issue 13): a NaN / inf loss or key stops the run with an error
naming the iteration, before the optimizer step, with no checkpoint written after it.

The real runs use the shipped ToyShapes MultiLabelMoCo config (tiny: 16 generated images,
batch 4) through the stock mmengine ``Runner``; NaN is injected into one view of one batch
after the data preprocessor, as a corrupt input would arrive."""
import glob
import os.path as osp
import types

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmpretrain.registry import HOOKS
from torch import nn

import mlcl_plugin  # noqa: F401  (registers the plugin)
from mlcl_plugin.engine.hooks import NonFiniteLossError, NonFiniteLossHook
from tests.tiny_run import REPO_ROOT, make_tiny

PRETRAIN = 'configs/toy_shapes/mulsupcon_resnet18-w16_1xb64-coslr-15e_toyshapes.py'
SNAPSHOTS = {}  # iteration -> trained weights after it (filled by the injection hook)


@HOOKS.register_module(name='TestInjectNaNHook', force=True)
class InjectNaNHook(Hook):
    """At iteration ``at_iter`` (1-based, as logged), writes NaN into sample 1 of input view
    ``view`` right after the data preprocessor; keeps a copy of the trained weights after
    every iteration."""

    priority = 'LOWEST'

    def __init__(self, at_iter: int, view: int) -> None:
        self.at_iter, self.view = at_iter, view

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at_iter:
            runner.model.data_preprocessor.register_forward_hook(self._poison)

    def _poison(self, module, args, output):
        output['inputs'][self.view][1] = float('nan')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        SNAPSHOTS[runner.iter + 1] = _trained_weights(runner.model)


def _trained_weights(model):
    """The parameters the optimizer updates. BN running statistics and the momentum key
    encoder are updated by the forward pass of the failing iteration itself, before any check
    can run, which is why nothing of that iteration may be saved."""
    return {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}


def _toy_runner(toy_root, work_dir, at_iter, view, iter_based):
    cfg = make_tiny(Config.fromfile(osp.join(REPO_ROOT, PRETRAIN)), {'toy': toy_root},
                    str(work_dir), num_samples=16)
    if iter_based:
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=4)
        cfg.param_scheduler = [dict(type='CosineAnnealingLR', T_max=4, by_epoch=False)]
        cfg.log_processor = dict(by_epoch=False)
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, by_epoch=False)
    cfg.model.queue_len = 8
    # the shipped config carries the hook (checked for every config in tests/test_configs.py)
    assert dict(type='NonFiniteLossHook') in cfg.custom_hooks
    cfg.custom_hooks.append(dict(type='TestInjectNaNHook', at_iter=at_iter, view=view))
    cfg.experiment_name = f'nonfinite_{view}_{iter_based}_{osp.basename(str(work_dir))}'
    SNAPSHOTS.clear()
    return Runner.from_cfg(cfg)


def test_finding3_nan_loss_stops_run(toy_root, tmp_path):
    """Finding 3: NaN in the query view at iteration 3 makes the loss NaN (its keys are still
    finite). The run used to continue, exit 0 and write NaN checkpoints; now it stops at
    iteration 3 before the optimizer step: the weights are those of iteration 2, and
    iteration 2's checkpoint is the newest one."""
    runner = _toy_runner(toy_root, tmp_path, at_iter=3, view=0, iter_based=True)
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    message = str(err.value)
    assert message.startswith('non-finite loss at iteration 3: loss=nan')
    assert 'Training stopped before the backward pass and the optimizer step' in message
    assert f'last checkpoint, written before this iteration, is {tmp_path / "iter_2.pth"};' \
        in message
    # no checkpoint after the failing iteration; the last one is iteration 2's
    saved = sorted(osp.basename(p) for p in glob.glob(str(tmp_path / 'iter_*.pth')))
    assert saved == ['iter_1.pth', 'iter_2.pth']
    assert (tmp_path / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    # the optimizer never stepped on the NaN loss: the weights are still iteration 2's
    assert sorted(SNAPSHOTS) == [1, 2]
    now = _trained_weights(runner.model)
    assert now.keys() == SNAPSHOTS[2].keys()
    for name, value in SNAPSHOTS[2].items():
        assert torch.equal(now[name], value), name
        assert torch.isfinite(value).all(), name


def test_finding3_nan_key_stops_run_before_the_queue(toy_root, tmp_path):
    """Finding 3: NaN in the key view at iteration 2 of an epoch-based run: MultiLabelMoCo
    refuses to enqueue the keys and the hook names the iteration, epoch and batch."""
    runner = _toy_runner(toy_root, tmp_path, at_iter=2, view=1, iter_based=False)
    with pytest.raises(NonFiniteLossError, match=r'training stopped at iteration 2 \(epoch 1, '
                                                 r'batch 2/4\): MultiLabelMoCo: \d+ of the 4 keys '
                                                 r'of this step are NaN or infinite') as err:
        runner.train()
    assert 'NOT enqueued' in str(err.value)
    assert 'No checkpoint had been written yet' in str(err.value)
    model = runner.model
    assert torch.isfinite(model.queue).all()
    assert (model._ptr, model._filled) == (4, 4)  # iteration 1's keys only
    assert glob.glob(str(tmp_path / '*.pth')) == []


class _Data(torch.utils.data.Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=torch.full((3,), i / 8), target=torch.tensor(float(i % 2)))


class _Model(BaseModel):
    """A linear model whose loss is NaN at ``nan_at`` (1-based iteration); ``own_step`` skips
    ``parse_losses`` as some custom models do."""

    def __init__(self, nan_at, own_step=False):
        super().__init__()
        self.fc = nn.Linear(3, 1)
        self.nan_at, self.own_step, self.calls = nan_at, own_step, 0

    def forward(self, inputs, target, mode='loss'):
        self.calls += 1
        out = self.fc(inputs).squeeze(1)
        loss = ((out - target) ** 2).mean()
        if self.calls == self.nan_at:
            loss = loss * float('inf')
        return dict(loss=loss, loss_aux=out.mean().detach(), acc=out.detach().mean())

    def train_step(self, data, optim_wrapper):
        if not self.own_step:
            return super().train_step(data, optim_wrapper)
        losses = self(**self.data_preprocessor(data, True))
        optim_wrapper.update_params(losses['loss'])
        return losses


def _small_runner(tmp_path, model, hooks):
    return Runner(
        model=model, work_dir=str(tmp_path),
        train_dataloader=dict(dataset=_Data(), batch_size=2, num_workers=0,
                              sampler=dict(type='InfiniteSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=4),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1)),
        custom_hooks=hooks, default_scope='mmpretrain',
        experiment_name=f'nonfinite_small_{osp.basename(str(tmp_path))}')


def test_finding3_inf_loss_names_every_term_and_the_model_is_restored(tmp_path):
    """Finding 3: the message lists the non-finite terms and the finite ones; two hook
    instances check once; after a clean run the model's own methods are back."""
    model = _Model(nan_at=0)
    runner = _small_runner(tmp_path / 'ok', model, [dict(type='NonFiniteLossHook'),
                                                     dict(type='NonFiniteLossHook')])
    runner.train()
    assert 'parse_losses' not in model.__dict__
    assert 'train_step' not in model.__dict__

    model = _Model(nan_at=2)
    runner = _small_runner(tmp_path / 'bad', model, [dict(type='NonFiniteLossHook')])
    with pytest.raises(NonFiniteLossError, match=r'^non-finite loss at iteration 2: loss=inf '
                                                 r'\(finite: loss_aux=[-\d.e]+, '
                                                 r'acc=[-\d.e]+\)\. Training stopped'):
        runner.train()
    assert sorted(osp.basename(p) for p in glob.glob(str(tmp_path / 'bad' / 'iter_*.pth'))) \
        == ['iter_1.pth']


def test_finding3_train_step_without_parse_losses_is_checked_after_it(tmp_path):
    """Finding 3: a model whose train_step bypasses parse_losses is caught in
    after_train_iter, still before CheckpointHook writes the iteration."""
    model = _Model(nan_at=3, own_step=True)
    runner = _small_runner(tmp_path, model, [dict(type='NonFiniteLossHook')])
    with pytest.raises(NonFiniteLossError, match=r'iteration 3: loss=inf .* detected after its '
                                                 r'optimizer step; no checkpoint was written'):
        runner.train()
    saved = sorted(osp.basename(p) for p in glob.glob(str(tmp_path / 'iter_*.pth')))
    assert saved == ['iter_1.pth', 'iter_2.pth']


def test_finding3_sync_ranks_names_the_ranks(tmp_path):
    """Finding 3, distributed path: the flag is all-reduced and the ranks are named (one
    gloo process: the collectives run for real)."""
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "init"}', rank=0,
                            world_size=1)
    try:
        hook = NonFiniteLossHook()
        hook._runner = types.SimpleNamespace(iter=6, work_dir=str(tmp_path))
        hook._check(torch.tensor(1.5), {'loss': torch.tensor(1.5)})  # finite: no error
        loss = torch.tensor(float('nan'))
        with pytest.raises(NonFiniteLossError, match=r'^non-finite loss at iteration 7: loss=nan; '
                                                     r'non-finite on rank\(s\) 0 of 1\. '):
            hook._check(loss, {'loss': loss})
    finally:
        dist.destroy_process_group()


def test_finding3_hook_is_inert_outside_training_iterations():
    """parse_losses called outside a training iteration (e.g. by a val loop) is not checked."""
    hook = NonFiniteLossHook()
    model = _Model(nan_at=0)
    hook._install(model, 'parse_losses', hook._checked_parse_losses)
    loss, _ = model.parse_losses({'loss': torch.tensor(float('nan'))})
    assert torch.isnan(loss)
    hook.after_train(None)
    assert 'parse_losses' not in model.__dict__
    assert model.parse_losses.__func__ is BaseModel.parse_losses
