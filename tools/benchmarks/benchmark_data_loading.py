# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Data-loader wait fraction of the real-photo pretraining configs (PETA, MIML, COCO).

Does the loader, with the workers a config sets, keep up with the training step? Each config
is built with ``Runner.from_cfg`` (as mmpretrain's ``tools/train.py`` does), with its own data
loader (workers, batch size, pipeline), model, optimiser and hooks, and trained for a few
iterations on the real photos in its own epoch loop (a small data set such as coco128 starts
a new epoch every few iterations, with the config's persistent workers, and pays that as it
would in training), stopped after ``--warmup`` + ``--iters`` iterations; only what would blur
the measurement is changed: no validation, no checkpoints, no logging, no learning-rate
schedule, a temporary work dir. (An iteration-based loop over an epoch sampler would be
wrong here: mmengine's ``_InfiniteDataloaderIterator`` sleeps 2 s at every epoch end, which
training in epochs never does.)

The wait is the quantity ``benchmark_real_photos.py`` reports as "loader wait": mmengine's
``IterTimerHook`` records per iteration ``data_time`` (the loop waiting for the next batch)
and ``time`` (the whole iteration, wait included), and the wait fraction is their sum over the
timed iterations, ``sum(data_time) / sum(time)``. That script reads the logger's window means
from ``scalars.json``; here every iteration's values are read from the runner's message hub,
so the warm-up iterations (the workers' start-up) are left out exactly.

One row per config for ``run_all.py``: ``ours_s`` = mean wait per iteration, ``peer_s`` =
mean iteration time, ``ratio`` = wait fraction, target: below 0.2. The MoCo-style configs use
their key queue only once it is full (``queue_mode='full'``), which a short run may not reach:
the timed step is then a little cheaper than training's, so the wait fraction errs high.

    python tools/benchmarks/benchmark_data_loading.py --data-root ../shared/data
    python tools/benchmarks/benchmark_data_loading.py --quick --json data_loading.json
"""
import argparse
import gc
import json
import os.path as osp
import sys
import tempfile

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import orchestration as orch

REPO_ROOT = orch.REPO_ROOT
sys.path.insert(0, REPO_ROOT)

TARGET = 0.2
# name -> (config, data folder under --data-root)
CONFIGS = {
    'peta-mulsupcon': ('configs/real_photos/mulsupcon_resnet18-w16_1xb64-adam-15e_peta.py',
                       'peta'),
    'miml-mulsupcon': ('configs/real_photos/mulsupcon_resnet18-w16_1xb64-adam-15e_miml.py',
                       'miml_scene'),
    'peta-blocksimsiam': ('configs/real_photos/blocksimsiam_resnet18-w16_1xb64-sgd-15e_peta.py',
                          'peta'),
    'coco128-mulsupcon': (
        'configs/lightly/mlmoco-mulsupcon_resnet18-w16_1xb16-adam-20e_coco128.py', 'coco128'),
}
# --quick (CI): one config, enough to show the measurement path works; each config costs
# seconds of runner set-up
QUICK_CONFIGS = ('peta-mulsupcon', )
# (full, quick) defaults; an explicit option wins over both. Full runs use the config's batch.
SIZES = dict(iters=(30, 3), warmup=(5, 2), batch_size=(None, 8))


def default_data_root():
    """``$MLCL_SHARED_DATA``, else ``shared/data`` beside the checkout (as tests/conftest.py)."""
    return orch.default_data_root()


def parse_args(argv=None):
    """The options, with the full or ``--quick`` sizes filled in where none was given."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=default_data_root(),
                        help='folder holding peta/, miml_scene/ and coco128/ (default: '
                        '$MLCL_SHARED_DATA or ../shared/data beside the checkout)')
    parser.add_argument('--configs', nargs='+', choices=list(CONFIGS),
                        help='configs to measure (default: all; quick: PETA MulSupCon)')
    parser.add_argument('--iters', type=int, help='timed iterations (default 30, quick 3)')
    parser.add_argument('--warmup', type=int,
                        help='untimed iterations first (default 5, quick 2)')
    parser.add_argument('--batch-size', type=int,
                        help="override the config's batch size (quick: 8)")
    parser.add_argument('--threads', type=int, default=2,
                        help='torch threads of the training process (the default of '
                        'benchmark_real_photos.py)')
    parser.add_argument('--quick', action='store_true',
                        help='3 iterations at batch 8, one config per data set (CI size)')
    parser.add_argument('--json', help="write run_all.py's rows to this JSON file")
    args = parser.parse_args(argv)
    for key, (full, quick) in SIZES.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    if args.configs is None:
        args.configs = list(QUICK_CONFIGS if args.quick else CONFIGS)
    if args.iters < 1 or args.warmup < 1:
        # the first iteration holds the workers' start-up, never the steady state
        parser.error('--iters and --warmup must be at least 1')
    return args


def check_data(data_root, names):
    """Exit with a message naming every data folder the chosen configs miss.

    Args:
        data_root (str): the folder holding the data sets.
        names (list[str]): keys of :data:`CONFIGS`.

    Raises:
        SystemExit: when a folder is missing (exit status 1).
    """
    missing = sorted({osp.join(osp.abspath(data_root), CONFIGS[n][1]) for n in names
                      if not osp.isdir(osp.join(data_root, CONFIGS[n][1]))})
    if missing:
        needed = ', '.join(f'{f}/' for f in sorted({CONFIGS[n][1] for n in names}))
        raise SystemExit(f'data folder(s) not found: {", ".join(missing)}; give --data-root '
                         f'(or set MLCL_SHARED_DATA): the folder that holds {needed}')


def build_config(name, args, work_dir):
    """The shipped config of ``name``, cut down to a short timed training run.

    Args:
        name (str): a key of :data:`CONFIGS`.
        args (argparse.Namespace): the parsed options.
        work_dir (str): the run's (temporary) work dir.

    Returns:
        mmengine.Config: the config to build the runner from.
    """
    from mmengine.config import Config

    path, folder = CONFIGS[name]
    cfg = Config.fromfile(osp.join(REPO_ROOT, path))
    cfg.work_dir = work_dir
    loader = cfg.train_dataloader
    loader.dataset.data_root = osp.join(osp.abspath(args.data_root), folder) + '/'
    if args.batch_size:
        loader.batch_size = args.batch_size
    # the config's own epoch loop, stopped by _StopAfter once the timed iterations are done
    # (every epoch has at least one iteration, so this many epochs are always enough)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=args.warmup + args.iters)
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg', 'test_dataloader',
                'test_evaluator', 'test_cfg'):
        cfg[key] = None
    # epoch-based schedules do not fit the iteration loop; the scheduler step is not data cost
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = None
    cfg.log_level = 'WARNING'
    return cfg


class _Enough(Exception):
    """Raised by :class:`_StopAfter` to end the timed run mid-epoch."""


def _stop_after(iterations):
    """A hook that ends training after ``iterations`` iterations (an epoch loop cannot be
    told to stop inside an epoch)."""
    from mmengine.hooks import Hook

    class _StopAfter(Hook):
        priority = 'LOWEST'  # after IterTimerHook has recorded the iteration

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if runner.iter + 1 >= iterations:
                raise _Enough

    return _StopAfter()


def measure(name, args, work_root):
    """Train ``name`` briefly and time its iterations.

    Args:
        name (str): a key of :data:`CONFIGS`.
        args (argparse.Namespace): the parsed options.
        work_root (str): a temporary folder for the work dirs.

    Returns:
        tuple: mean wait and mean iteration time over the timed iterations (seconds), the
        batch size and the number of workers of the loader.
    """
    from mmengine.runner import Runner

    cfg = build_config(name, args, osp.join(work_root, name))
    runner = Runner.from_cfg(cfg)
    runner.register_hook(_stop_after(args.warmup + args.iters))
    try:
        runner.train()
    except _Enough:
        pass
    hub = runner.message_hub
    waits = np.asarray(hub.get_scalar('train/data_time').data[0][args.warmup:], dtype=float)
    times = np.asarray(hub.get_scalar('train/time').data[0][args.warmup:], dtype=float)
    if len(times) != args.iters:
        raise RuntimeError(f'{name}: {len(times)} timed iterations recorded, expected '
                           f'{args.iters}')
    batch = cfg.train_dataloader.batch_size
    workers = cfg.train_dataloader.get('num_workers', 0)
    # the persistent workers stop when the loader is collected (the runner holds reference
    # cycles): a later config must not share the CPUs with them
    del runner
    gc.collect()
    return float(waits.mean()), float(times.mean()), batch, workers


def rows_of(name, wait, step, batch, workers, args):
    """The ``run_all.py`` row of one config (memory is not measured: those fields are None).

    Args:
        name (str): a key of :data:`CONFIGS`.
        wait (float): mean wait for the next batch per iteration (s).
        step (float): mean iteration time, wait included (s).
        batch (int): the loader's batch size.
        workers (int): the loader's workers.
        args (argparse.Namespace): the parsed options.

    Returns:
        dict: the row.
    """
    ratio = wait / step
    config = osp.splitext(osp.basename(CONFIGS[name][0]))[0]
    return dict(what=f'data-loader wait fraction, {config}',
                size=f'batch {batch}, {workers} workers, {args.threads} torch threads, '
                f'{args.iters} iterations after {args.warmup}',
                ours_s=wait, peer_s=step, ratio=ratio, target=TARGET,
                **{'pass': ratio < TARGET}, ours_mib=None, peer_mib=None, mem_ratio=None,
                mem_target=None, mem_pass=None)


def main(argv=None):
    """Measure every chosen config; print a line each and write the rows with ``--json``.

    Args:
        argv (list[str], optional): command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        list[dict]: the rows.
    """
    args = parse_args(argv)
    check_data(args.data_root, args.configs)
    import torch

    import mlcl_plugin  # noqa: F401

    torch.set_num_threads(args.threads)
    rows = []
    print(f'data-loader wait per iteration (IterTimerHook data_time / time), '
          f'{args.iters} timed iterations after {args.warmup}, {args.threads} torch threads; '
          f'target: wait fraction < {TARGET}')
    with tempfile.TemporaryDirectory() as work_root:
        for name in args.configs:
            wait, step, batch, workers = measure(name, args, work_root)
            row = rows_of(name, wait, step, batch, workers, args)
            rows.append(row)
            print(f'  {name:<18s} batch {batch:3d}, {workers} workers: wait '
                  f'{wait * 1e3:8.1f} ms of {step * 1e3:8.1f} ms per iteration = '
                  f'{100 * row["ratio"]:5.1f} % ({"met" if row["pass"] else "NOT met"})',
                  flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == '__main__':
    main()
