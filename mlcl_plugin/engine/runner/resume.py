# Copyright (c) mlcl_plugin authors. All rights reserved.
"""``--resume`` that says what it does, and epoch-based resumes that continue exactly.

Issue 13, finding 9. Importing the plugin applies :func:`apply_resume_safety` to mmengine's
``Runner`` (idempotent), so ``tools/train.py`` and any script that imports the plugin get:

* **Loud resume checks** (:func:`check_resume_source`, run before mmengine's own
  ``load_or_resume``): ``--resume`` without a checkpoint in the work dir logs a WARNING that
  training starts from scratch (stock mmengine logs an INFO line and goes on); ``--resume PATH``
  with a missing local file, an empty ``last_checkpoint`` and a ``last_checkpoint`` naming a
  missing file each raise an error naming the file.
* **Random-number state in checkpoints** (:class:`ResumeRNGStateHook`, registered on every
  runner): a checkpoint written at the end of an epoch carries the state of Python's
  ``random``, numpy's global generator and torch's CPU (and CUDA) generators; an epoch-based
  resume restores it before the next epoch, and validation no longer consumes training
  randomness (its generators are put back afterwards). Measured on the ToyShapes MoCo config
  (2 epochs straight against 1 + ``--resume`` 1, 263 tensors): stock mmengine differs in 217
  tensors (max 0.39), with this hook they are bit-identical with ``num_workers=0`` and with
  non-persistent workers. Not restored: the generators inside *persistent* data-loader
  workers (they keep running across epochs in their own processes; a resume starts them again
  from their seeds) and multi-process runs (only rank 0 writes the checkpoint). See
  SECURITY.md, "Resume".
"""
import glob
import logging
import os.path as osp
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop, Runner
from mmpretrain.registry import HOOKS

__all__ = ['ResumeRNGStateHook', 'apply_resume_safety', 'check_resume_source', 'RNG_STATE_KEY']

RNG_STATE_KEY = 'mlcl_rng_state'
_MARK = '_mlcl_resume_safety'


def _is_remote(path: str) -> bool:
    # pavi://, s3://, http(s):// ...: mmengine's other backends; existence is theirs to check
    return '://' in path


def _checkpoints_in(work_dir: str) -> list:
    files = glob.glob(osp.join(glob.escape(work_dir), '*.pth'))
    return sorted(files, key=osp.getmtime)


def check_resume_source(work_dir: str, load_from: Optional[str] = None,
                        logger=None) -> Optional[str]:
    """Check what a resumed run (``cfg.resume = True``) will load, before mmengine loads it.

    Args:
        work_dir (str): the run's work dir (where ``last_checkpoint`` lives).
        load_from (str, optional): the explicit checkpoint (``--resume PATH`` sets
            ``cfg.load_from``); None for ``--resume`` alone (auto-resume).
        logger (logging.Logger, optional): where the from-scratch WARNING goes (the runner's
            logger, so it lands in the run's log file); defaults to mmengine's current logger.

    Returns:
        str or None: the checkpoint that will be resumed, or None when training starts from
        scratch (after the WARNING).

    Raises:
        FileNotFoundError: ``load_from`` is a local path that does not exist, or
            ``last_checkpoint`` names a checkpoint that does not exist (both files named).
        ValueError: ``last_checkpoint`` is empty.
    """
    if load_from is not None:
        path = osp.expanduser(str(load_from))
        if not _is_remote(path) and not osp.isfile(path):
            raise FileNotFoundError(
                f'resume: the checkpoint {load_from!r} (from --resume PATH or load_from) does not '
                f'exist (looked for {osp.abspath(path)}); nothing was loaded and training did not '
                'start. Pass an existing checkpoint, or --resume without a path to continue from '
                f'{osp.join(work_dir, "last_checkpoint")}.')
        return str(load_from)
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.exists(pointer):
        found = _checkpoints_in(work_dir)
        message = (f'--resume: no checkpoint to resume in the work dir {work_dir} ({pointer} '
                   'does not exist), so training STARTS FROM SCRATCH. If you meant to continue a '
                   'run, stop now and check --work-dir, or pass the checkpoint: --resume PATH.')
        if found:
            message += (f' The work dir holds {len(found)} .pth file(s) (newest: '
                        f'{osp.basename(found[-1])}) that --resume only finds through '
                        'last_checkpoint.')
        _log(message, logging.WARNING, logger)
        return None
    with open(pointer, encoding='utf-8') as f:
        target = f.read().strip()
    hint = _hint(work_dir)
    if not target:
        raise ValueError(
            f'{pointer} is empty, so --resume cannot tell which checkpoint to continue from (an '
            f'interrupted save?). Pass the checkpoint with --resume PATH{hint}, or delete '
            f'{pointer} to start from scratch.')
    if not _is_remote(target) and not osp.isfile(osp.expanduser(target)):
        beside = osp.join(work_dir, osp.basename(target))
        moved = (f' A file of that name is in the work dir: --resume {beside}'
                 if osp.isfile(beside) else hint)
        raise FileNotFoundError(
            f'{pointer} names the checkpoint {target!r}, which does not exist (looked for '
            f'{osp.abspath(osp.expanduser(target))}; deleted, moved, or a relative path from '
            f'another working directory?).{moved} Pass an existing checkpoint with --resume '
            f'PATH, or delete {pointer} to start from scratch.')
    return target


def _hint(work_dir: str) -> str:
    found = _checkpoints_in(work_dir)
    return f' (newest in the work dir: {found[-1]})' if found else ''


def _log(message: str, level: int, logger=None) -> None:
    if logger is not None:
        logger.log(level, message)
    else:
        print_log(message, logger='current', level=level)


def _capture_rng() -> dict:
    # numpy's legacy global generator is the one mmcv's random transforms draw from; torch's
    # states are kept as bytes, pickled inline (a tensor would add a record to the zip file)
    state = dict(python=random.getstate(), numpy=np.random.get_state(),  # noqa: NPY002
                 torch=torch.get_rng_state().numpy().tobytes())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = [s.numpy().tobytes() for s in torch.cuda.get_rng_state_all()]
    return state


def _as_state_tensor(value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    return torch.frombuffer(bytearray(value), dtype=torch.uint8)


def _restore_rng(state: dict) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])  # noqa: NPY002
    torch.set_rng_state(_as_state_tensor(state['torch']))
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all([_as_state_tensor(s) for s in cuda])


@HOOKS.register_module()
class ResumeRNGStateHook(Hook):
    """Save the random-number state with each end-of-epoch checkpoint and restore it when an
    epoch-based run resumes; keep validation from consuming training randomness.

    Registered on every runner by :func:`apply_resume_safety` (a config that lists it in
    ``custom_hooks`` gets its own instance instead). Iteration-based loops keep mmengine's own
    resume (it replays the data loader); validation is neutral for them too.

    Args:
        restore (bool): restore the state on an epoch-based resume. Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(self, restore: bool = True) -> None:
        self.restore = restore
        self._at_epoch_end = False
        self._before_val = None  # the training state while a validation runs
        self._resumed = None  # what the resumed checkpoint held, until the first epoch starts
        self._waiting = False

    def after_train_epoch(self, runner) -> None:
        self._at_epoch_end = True

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._at_epoch_end = False

    def before_val(self, runner) -> None:
        self._before_val = _capture_rng()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            _restore_rng(self._before_val)
            self._before_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # mid-epoch checkpoints restart their epoch on resume: a state would not match;
        # iteration-based loops never restore it (mmengine replays their data loader)
        if (not self._at_epoch_end or get_world_size() != 1
                or not isinstance(runner.train_loop, EpochBasedTrainLoop)):
            return
        # a best checkpoint is written inside validation: store the state training goes on with
        state = self._before_val if self._before_val is not None else _capture_rng()
        checkpoint[RNG_STATE_KEY] = dict(state, world_size=1)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if getattr(runner, '_resume', False):
            self._resumed = checkpoint.get(RNG_STATE_KEY)
            self._waiting = True

    def before_train_epoch(self, runner) -> None:
        if not self._waiting:
            return
        self._waiting = False
        state, self._resumed = self._resumed, None
        if not isinstance(runner.train_loop, EpochBasedTrainLoop) or not self.restore:
            return
        if state is None:
            runner.logger.info(
                'resume: the checkpoint holds no random-number state (written mid-epoch, by '
                'several processes, or without mlcl_plugin), so the continued run draws other '
                'augmentations than an uninterrupted one would.')
            return
        if get_world_size() != 1:
            runner.logger.info('resume: random-number state not restored in a multi-process '
                               'run (the checkpoint holds rank 0 only).')
            return
        try:
            _restore_rng(state)
        except (TypeError, ValueError, KeyError, RuntimeError) as exc:
            # a malformed state costs exactness, never the run
            runner.logger.warning(f"resume: the checkpoint's {RNG_STATE_KEY!r} could not be "
                                  f'restored ({exc!r:.200}); continuing without it.')
            return
        loader = runner.train_loop.dataloader
        if getattr(loader, 'num_workers', 0) > 0 and getattr(loader, 'persistent_workers', False):
            runner.logger.info(
                'resume: random-number state restored, but the data loader has persistent '
                'workers, whose generators restart from their seeds: the augmentations differ '
                'from an uninterrupted run (use --no-persistent-workers for an exact one).')
        else:
            runner.logger.info('resume: random-number state restored; the continued epochs '
                               'draw the same random numbers as an uninterrupted run.')


def apply_resume_safety() -> bool:
    """Patch mmengine's ``Runner`` once: resume checks and :class:`ResumeRNGStateHook`.

    Returns:
        bool: True when this call patched, False when it was already applied.
    """
    if getattr(Runner.load_or_resume, _MARK, False):
        return False
    load_or_resume = Runner.load_or_resume
    register_hooks = Runner.register_hooks

    def checked_load_or_resume(self) -> None:
        if not self._has_loaded and self._resume:
            check_resume_source(self.work_dir, self._load_from, self.logger)
        return load_or_resume(self)

    def register_hooks_with_rng(self, default_hooks=None, custom_hooks=None) -> None:
        register_hooks(self, default_hooks, custom_hooks)
        if not any(isinstance(hook, ResumeRNGStateHook) for hook in self._hooks):
            self.register_hook(ResumeRNGStateHook())

    checked_load_or_resume.__doc__ = load_or_resume.__doc__
    register_hooks_with_rng.__doc__ = register_hooks.__doc__
    setattr(checked_load_or_resume, _MARK, True)
    Runner.load_or_resume = checked_load_or_resume
    Runner.register_hooks = register_hooks_with_rng
    return True

