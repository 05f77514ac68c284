# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Stop training at the first non-finite loss, before the optimizer step and any checkpoint."""
import math
from typing import Callable, Dict, Optional, Sequence

import torch
from mmengine.dist import all_gather, all_reduce, get_world_size, is_distributed
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from mmengine.runner.checkpoint import find_latest_checkpoint
from mmpretrain.registry import HOOKS

# marks the wrappers installed by this hook, so that a second instance does not wrap twice
_GUARD = '_mlcl_nonfinite_guard'


class NonFiniteLossError(FloatingPointError):
    """Training stopped because a loss (or a key about to be queued) was NaN or infinite."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training with a clear error at the first iteration whose loss is NaN or infinite.

    Where the check sits, and why: mmengine's ``train_step`` runs ``parse_losses`` (sum of the
    loss terms) and then ``optim_wrapper.update_params`` (backward + optimizer step). An
    ``after_train_iter`` check would come after the step, when the weights already hold the
    NaN gradient. This hook therefore wraps the model's ``parse_losses`` for the duration of
    training and checks the summed loss right after it, **before** the backward pass and the
    optimizer step: the weights of the failing iteration are never updated, and since the
    error leaves ``train_step``, ``CheckpointHook`` (``after_train_iter`` /
    ``after_train_epoch``) never runs for it, so no checkpoint is written after the last good
    iteration. Works for plain models and for mmengine's model wrappers (DDP / FSDP call
    ``module.parse_losses``).

    The error (:class:`NonFiniteLossError`, a ``FloatingPointError``) names the iteration as
    the log does (``Iter(train) [k/...]``; with an epoch-based loop also the epoch and the
    batch of the epoch), every loss term and logged value with its value (the non-finite ones
    first), the ranks where the loss was non-finite, and the last checkpoint to resume from.
    A ``FloatingPointError`` raised inside the training step (e.g. ``MultiLabelMoCo``
    refusing to enqueue a NaN key) is re-raised with the same iteration context.

    Cost: one host sync per iteration (reading one boolean) before the backward pass; with
    ``sync_ranks`` and more than one process, plus one all-reduce of one number, so that every
    rank stops at the same iteration instead of the healthy ranks waiting forever in the
    gradient all-reduce. A model whose ``train_step`` does not call ``parse_losses`` is checked
    on the returned log values in ``after_train_iter`` instead (after its step, but still
    before ``CheckpointHook``, which has a lower priority).

    With ``AmpOptimWrapper``, overflowing fp16 *gradients* are the loss scaler's business (it
    skips the step); this hook stops on a non-finite *loss* only.

    Args:
        sync_ranks (bool): agree across ranks (one scalar all-reduce per iteration) so that
            all ranks stop together. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, sync_ranks: bool = True) -> None:
        self.sync_ranks = bool(sync_ranks)
        self._runner = None
        self._batch_idx: Optional[int] = None  # set only while a training iteration runs
        self._checked = False
        self._installed = []  # (owner, name, previous instance attribute or None)

    # ---------------------------------------------------------------------------- install
    def before_train(self, runner) -> None:
        self._runner = runner
        model = runner.model
        inner = model.module if is_model_wrapper(model) else model
        self._install(inner, 'parse_losses', self._checked_parse_losses)
        self._install(model, 'train_step', self._contextual_train_step)

    def after_train(self, runner) -> None:
        for owner, name, previous in reversed(self._installed):
            if previous is None:
                owner.__dict__.pop(name, None)
            else:
                owner.__dict__[name] = previous
        self._installed = []

    def _install(self, owner, name: str, make: Callable) -> None:
        current = getattr(owner, name, None)
        if current is None or getattr(current, _GUARD, False):
            return  # nothing to wrap, or another instance of this hook already did
        wrapper = make(current)
        setattr(wrapper, _GUARD, True)
        # an instance attribute shadows the class method; the previous instance attribute
        # (e.g. a compiled train_step) is put back after training
        self._installed.append((owner, name, owner.__dict__.get(name)))
        owner.__dict__[name] = wrapper

    def _checked_parse_losses(self, parse_losses: Callable) -> Callable:

        def parse_and_check(losses):
            loss, log_vars = parse_losses(losses)
            if self._batch_idx is not None:  # training iterations only (not val / test)
                self._checked = True
                self._check(loss, log_vars)
            return loss, log_vars

        return parse_and_check

    def _contextual_train_step(self, train_step: Callable) -> Callable:

        def train_step_with_context(*args, **kwargs):
            try:
                return train_step(*args, **kwargs)
            except NonFiniteLossError:
                raise
            except FloatingPointError as err:
                raise NonFiniteLossError(
                    f'training stopped at {self._where()}: {err}. {self._resume_hint()}'
                ) from err

        return train_step_with_context

    # ------------------------------------------------------------------------------ check
    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._runner = runner
        self._batch_idx = batch_idx
        self._checked = False

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        try:
            if not self._checked and outputs:
                # fallback for a train_step that bypasses parse_losses: the step has run, but
                # stopping here still comes before CheckpointHook
                values = {k: v for k, v in outputs.items() if isinstance(v, torch.Tensor)}
                losses = [v.detach().float().sum() for k, v in values.items() if 'loss' in k]
                if losses:
                    self._check(torch.stack(losses).sum(), values, stepped=True)
        finally:
            self._batch_idx = None

    def _check(self, loss: torch.Tensor, log_vars: Dict, stepped: bool = False) -> None:
        finite = torch.isfinite(loss.detach()).all()
        distributed = self.sync_ranks and is_distributed()
        if distributed:
            flag = finite.float().reshape(1)
            all_reduce(flag, op='min')
            finite = flag[0] > 0
        if bool(finite):  # the one host sync of the iteration
            return
        raise NonFiniteLossError(self._message(loss, log_vars, distributed, stepped))

    # --------------------------------------------------------------------------- messages
    def _where(self) -> str:
        runner = self._runner
        if runner is None:
            return 'an unknown iteration'
        where = f'iteration {runner.iter + 1}'
        loop = getattr(runner, 'train_loop', None)
        if isinstance(loop, EpochBasedTrainLoop) and self._batch_idx is not None:
            where += (f' (epoch {runner.epoch + 1}, batch {self._batch_idx + 1}/'
                      f'{len(loop.dataloader)})')
        return where

    def _resume_hint(self) -> str:
        runner = self._runner
        last = None
        if runner is not None:
            try:
                last = find_latest_checkpoint(runner.work_dir)
            except Exception:  # the hint must never hide the real error
                last = None
        if last:
            return (f'The last checkpoint, written before this iteration, is {last}; fix the '
                    'cause (learning rate, input data, mixed precision), then resume from it '
                    'with --resume.')
        return ('No checkpoint had been written yet; fix the cause (learning rate, input '
                'data, mixed precision) and start again.')

    def _message(self, loss: torch.Tensor, log_vars: Dict, distributed: bool,
                 stepped: bool) -> str:
        terms = []
        for name, value in log_vars.items():
            if isinstance(value, torch.Tensor) and value.numel() == 1:
                terms.append((name, float(value.detach().float())))
        bad = [f'{n}={v}' for n, v in terms if not math.isfinite(v)]
        good = [f'{n}={v:.6g}' for n, v in terms if math.isfinite(v)]
        text = (f'non-finite loss at {self._where()}: {", ".join(bad) or f"loss={loss}"}'
                + (f' (finite: {", ".join(good)})' if good else ''))
        if distributed:
            local = torch.isfinite(loss.detach()).all().float().reshape(1)
            ranks = [r for r, f in enumerate(all_gather(local)) if float(f) == 0.0]
            text += f'; non-finite on rank(s) {_join(ranks)} of {get_world_size()}'
        if stepped:
            text += ('. The train_step of this model does not call parse_losses, so this was '
                     'detected after its optimizer step; no checkpoint was written for it.')
        else:
            text += ('. Training stopped before the backward pass and the optimizer step of '
                     'this iteration: the weights were not updated with it and no checkpoint '
                     'was written after the previous iteration.')
        return f'{text} {self._resume_hint()}'


def _join(values: Sequence) -> str:
    return ', '.join(str(v) for v in values)
