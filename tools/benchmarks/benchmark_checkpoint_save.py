# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Checkpoint save time: stock mmengine 0.10.7 against the plugin's crash-safe saves.

Both arms run in one process on the same runner, model and optimizer state, alternating
(stock, atomic, atomic, stock, ...) so that load drift hits both alike. What is timed is one
call of ``CheckpointHook._save_checkpoint_with_step`` with ``max_keep_ckpts=1``, i.e. what the
training loop waits for at a save:

* stock: the runner gathers the state (model, optimizer, message hub, schedulers), the oldest
  checkpoint is deleted, ``torch.save`` serialises into memory and the bytes are written in
  place, ``last_checkpoint`` is rewritten in place;
* atomic (``mlcl_plugin.engine.checkpoint_io``): the same state is streamed into a temporary
  file, flushed, fsynced and renamed, the folder fsynced, ``last_checkpoint`` written the same
  way, and only then the previous checkpoint deleted.

Before every timed save the page cache is flushed (``os.sync``, not timed), so neither arm pays
for the write-back of the other's file; stock's own write-back is left to the kernel, as during
training, while the atomic arm's fsync is inside its time.

The model is mmpretrain's ResNet-50 with an 80-class linear head and SGD with momentum after
one step (about 190 MB: weights + momentum buffers); ``--depth 18`` gives about 90 MB for a
slow disk.

Example::

    python tools/benchmarks/benchmark_checkpoint_save.py --depth 50 --repeats 6
"""
import argparse
import copy
import os
import os.path as osp
import shutil
import statistics
import sys
import tempfile
import time
from collections import deque

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

try:
    import mlcl_plugin  # applies the crash-safe saves
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    import mlcl_plugin  # noqa: F401
from mmengine.hooks import CheckpointHook
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mlcl_plugin.engine.checkpoint_io import (
    apply_atomic_checkpoint_saves,
    restore_stock_checkpoint_saves,
)

NUM_CLASSES = 80


class _Images(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(3, 32, 32, generator=g),
                    target=(torch.rand(NUM_CLASSES, generator=g) < 0.05).float())


class _Classifier(BaseModel):
    """mmpretrain ResNet + global pooling + linear multi-label head."""

    def __init__(self, depth):
        super().__init__()
        from mmpretrain.models.backbones import ResNet

        self.backbone = ResNet(depth=depth)
        self.fc = nn.Linear(2048 if depth >= 50 else 512, NUM_CLASSES)

    def forward(self, inputs, target, mode='loss'):
        logits = self.fc(self.backbone(inputs)[-1].mean((2, 3)))
        return dict(loss=F.binary_cross_entropy_with_logits(logits, target))


def build_runner(depth, work_dir):
    """A runner after one SGD step (momentum buffers exist), with a checkpoint hook that keeps
    one checkpoint and saves nothing by itself."""
    runner = Runner(
        model=_Classifier(depth),
        work_dir=work_dir,
        train_dataloader=dict(dataset=_Images(), batch_size=2, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=-1,
                                           max_keep_ckpts=1, save_last=False)),
        default_scope='mmpretrain',
        log_level='WARNING',
        experiment_name=f'benchmark_checkpoint_save_{os.getpid()}')
    runner.train()
    return runner


def _sync():
    if hasattr(os, 'sync'):
        os.sync()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--depth', type=int, default=50, choices=(18, 34, 50, 101),
                        help='ResNet depth (50: ~190 MB checkpoint, 18: ~90 MB)')
    parser.add_argument('--repeats', type=int, default=6, help='timed saves per arm')
    parser.add_argument('--out-dir', default='work_dirs',
                        help='folder on the disk to measure (a temporary sub-folder is used '
                        'and removed)')
    args = parser.parse_args()

    os.makedirs(args.out_dir, exist_ok=True)
    root = tempfile.mkdtemp(prefix='benchmark_checkpoint_save_', dir=osp.abspath(args.out_dir))
    try:
        runner = build_runner(args.depth, root)
        base = next(h for h in runner.hooks if isinstance(h, CheckpointHook))
        hooks = {}
        for arm in ('stock', 'atomic'):
            hook = copy.copy(base)
            hook.out_dir = osp.join(root, arm)
            hook.keep_ckpt_ids = deque(maxlen=1)
            hook.last_ckpt = None
            os.makedirs(hook.out_dir)
            hooks[arm] = hook
        steps = dict(stock=0, atomic=0)

        def save(arm):
            (restore_stock_checkpoint_saves if arm == 'stock'
             else apply_atomic_checkpoint_saves)()
            steps[arm] += 1
            _sync()
            start = time.perf_counter()
            hooks[arm]._save_checkpoint_with_step(runner, steps[arm],
                                                  dict(epoch=0, iter=steps[arm]))
            return time.perf_counter() - start

        save('stock')  # warm-up, one per arm (lazy allocations, first file in each folder)
        save('atomic')
        times = dict(stock=[], atomic=[])
        for rep in range(args.repeats):
            for arm in (('stock', 'atomic') if rep % 2 == 0 else ('atomic', 'stock')):
                times[arm].append(save(arm))
        apply_atomic_checkpoint_saves()

        size = {arm: os.path.getsize(osp.join(root, arm, f'iter_{steps[arm]}.pth'))
                for arm in steps}
        left = {arm: sorted(os.listdir(osp.join(root, arm))) for arm in steps}
        print(f'ResNet-{args.depth} + SGD momentum, checkpoint {size["stock"] / 1e6:.1f} MB '
              f'(stock) / {size["atomic"] / 1e6:.1f} MB (atomic), folder {root}, '
              f'torch {torch.__version__}, {os.cpu_count()} CPUs')
        print(f'files left per arm (max_keep_ckpts=1): {left}')
        print('| rep | stock s | atomic s | atomic / stock |')
        print('| --- | --- | --- | --- |')
        for i, (a, b) in enumerate(zip(times['stock'], times['atomic'])):
            print(f'| {i + 1} | {a:.3f} | {b:.3f} | {b / a:.3f} |')
        med = {arm: statistics.median(v) for arm, v in times.items()}
        mean = {arm: statistics.fmean(v) for arm, v in times.items()}
        low = {arm: min(v) for arm, v in times.items()}
        print(f'| median | {med["stock"]:.3f} | {med["atomic"]:.3f} | '
              f'{med["atomic"] / med["stock"]:.3f} |')
        print(f'| mean | {mean["stock"]:.3f} | {mean["atomic"]:.3f} | '
              f'{mean["atomic"] / mean["stock"]:.3f} |')
        print(f'| min | {low["stock"]:.3f} | {low["atomic"]:.3f} | '
              f'{low["atomic"] / low["stock"]:.3f} |')
        pairs = [b / a for a, b in zip(times['stock'], times['atomic'])]
        print(f'median of the per-rep ratios: {statistics.median(pairs):.3f} '
              f'(target <= 1.02)')
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
