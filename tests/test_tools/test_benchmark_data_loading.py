# Copyright (c) mlcl_plugin authors. All rights reserved.
"""tools/benchmarks/benchmark_data_loading.py times each config in its own epoch loop and
sampler (an iteration loop over an epoch sampler sleeps 2 s at every epoch end in mmengine,
which made coco128, six iterations per epoch, look input-bound), stopped mid-epoch."""
import os.path as osp
import sys

import pytest

from tests.tiny_run import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'benchmarks'))
import benchmark_data_loading as bench


@pytest.mark.parametrize('name', list(bench.CONFIGS))
def test_the_config_keeps_its_epoch_loop_and_sampler(name, tmp_path):
    from mmengine.config import Config

    args = bench.parse_args(['--data-root', str(tmp_path), '--iters', '4', '--warmup', '2'])
    cfg = bench.build_config(name, args, str(tmp_path / 'work'))
    shipped = Config.fromfile(osp.join(REPO_ROOT, bench.CONFIGS[name][0]))
    assert cfg.train_cfg.type == shipped.train_cfg.type == 'EpochBasedTrainLoop'
    assert cfg.train_cfg.max_epochs >= args.warmup + args.iters  # the hook stops it first
    assert cfg.train_dataloader.sampler == shipped.train_dataloader.sampler
    for key in ('num_workers', 'persistent_workers', 'batch_size'):
        assert cfg.train_dataloader.get(key) == shipped.train_dataloader.get(key), key


def test_stop_hook_ends_the_run_after_the_timed_iterations():
    hook = bench._stop_after(5)

    class Runner:
        iter = 3

    hook.after_train_iter(Runner(), 0)  # the 4th iteration: go on
    Runner.iter = 4
    with pytest.raises(bench._Enough):
        hook.after_train_iter(Runner(), 0)
