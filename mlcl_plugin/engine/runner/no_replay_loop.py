# Copyright (c) mlcl_plugin authors. All rights reserved.
"""An iteration-based training loop that resumes without re-reading the consumed batches."""
from mmengine.runner import IterBasedTrainLoop
from mmpretrain.registry import LOOPS


class _SkipFirst:
    """Iterator wrapper: the first ``n`` ``next()`` calls return ``None`` without touching the
    wrapped iterator, later calls delegate to it."""

    def __init__(self, iterator, n: int) -> None:
        self._iterator = iterator
        self._left = n

    def __iter__(self):
        return self

    def __next__(self):
        if self._left > 0:
            self._left -= 1
            return None
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@LOOPS.register_module()
class NoReplayIterBasedTrainLoop(IterBasedTrainLoop):
    """``IterBasedTrainLoop`` whose resume does not replay the data loader.

    On resume mmengine's loop calls ``next()`` on the data loader once per iteration already
    trained, so that the sample order continues where it stopped. Every one of those calls
    loads and collates a batch: resuming a 150k-iteration vector pretraining at iteration 84k
    re-read 84k batches, several minutes of a 2-core CPU, before the first new step. This loop
    skips that replay: after a resume the (infinite, seeded) sampler starts its order again,
    which for shuffled i.i.d. batches changes nothing but which batch comes when. Model,
    optimiser, schedulers, message hub and iteration count are restored as usual. Without a
    resume it is exactly ``IterBasedTrainLoop``.

    Use ``train_cfg = dict(type='NoReplayIterBasedTrainLoop', max_iters=...)``, or only for
    the resumed run: ``--resume --cfg-options train_cfg.type=NoReplayIterBasedTrainLoop``.

    Args:
        by_epoch (bool, optional): accepted for configs written as
            ``dict(by_epoch=False, ...)``; must be False.
        **kwargs: ``IterBasedTrainLoop``'s arguments (``runner``, ``dataloader``,
            ``max_iters``, ``val_begin``, ``val_interval``, ``dynamic_intervals``).
    """

    def __init__(self, *args, by_epoch: bool = False, **kwargs) -> None:
        if by_epoch:
            raise ValueError('NoReplayIterBasedTrainLoop is iteration-based: by_epoch must be '
                             'False')
        super().__init__(*args, **kwargs)

    def run(self):
        """Train from the current (possibly resumed) iteration to ``max_iters``."""
        if self._iter > 0:
            # the parent's replay loop then only calls next() on this wrapper
            self.dataloader_iterator = _SkipFirst(self.dataloader_iterator, self._iter)
        return super().run()
