# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Time a MulSupCon vector pretraining step against a plain BCE step of the same MLP.

Both go through an mmengine ``Runner`` built from the shipped configs, and one timed step is
what ``IterBasedTrainLoop`` does per iteration: fetch the next batch from the data loader
(dataset, pipeline, collate), ``run_iter`` (data preprocessor, forward, loss, backward,
optimiser step, momentum update and queue for MulSupCon, and the runner's hooks). The runs are
interleaved in chunks so that machine load hits all of them alike, and the medians over chunks
are compared in one run:

* ``mulsupcon``: ``configs/mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_<ds>.py`` (two views
  masked per batch by ``FeatureMaskDataPreprocessor``);
* ``mulsupcon-pipeline-mask``: the same, with the masks drawn per sample in the data pipeline
  (``MultiView(num_views=2, [[RandomFeatureMask(0.5)]])`` + ``SelfSupDataPreprocessor``);
* ``bce``: ``configs/baselines/mlp_1xb32-bce-adam-1500it_<ds>.py`` at the same batch size (64),
  without validation.

``--json PATH`` writes the two ratios against the BCE step as rows of ``run_all.py``'s table
(the batched-mask step with the issue's margin target 1.7, the pipeline-mask one with the plain
target 2); ``--quick`` runs a few short chunks (CI size).

    python tools/benchmarks/benchmark_vector_pretrain_step.py --data-root ../shared/data
    python tools/benchmarks/benchmark_vector_pretrain_step.py --data-root ../shared/data \\
        --quick --json vector_step.json
"""
import argparse
import json
import math
import os.path as osp
import statistics
import sys
import tempfile
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

FOLDERS = {'yeast': 'yeast_mulsupcon', 'scene': 'mulan_scene'}
# (full, quick) defaults of the chunking; an explicit option wins over both
CHUNKING = dict(chunks=(10, 3), chunk_iters=(50, 5), warmup=(30, 5))
# rows of --json: (what, variant, target ratio against the BCE step)
ROWS = (
    ('MulSupCon vector pretraining step vs BCE step', 'mulsupcon', 1.7),
    ('MulSupCon vector pretraining step, masks in the pipeline, vs BCE step',
     'mulsupcon-pipeline-mask', 2.0),
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=osp.join(REPO_ROOT, 'data'))
    parser.add_argument('--dataset', default='yeast', choices=sorted(FOLDERS))
    parser.add_argument('--chunks', type=int, help='timed chunks per variant (default 10, '
                        'quick 3)')
    parser.add_argument('--chunk-iters', type=int, help='iterations per chunk (default 50, '
                        'quick 5)')
    parser.add_argument('--warmup', type=int, help='untimed iterations first (default 30, '
                        'quick 5)')
    parser.add_argument('--threads', type=int, default=1, help='torch threads')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--quick', action='store_true', help='a few short chunks (CI size)')
    parser.add_argument('--json', help="write run_all.py's rows to this JSON file")
    args = parser.parse_args(argv)
    for key, (full, quick) in CHUNKING.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    return args


def _configs(args, work_root):
    from mmengine.config import Config

    root = osp.join(osp.abspath(args.data_root), FOLDERS[args.dataset])
    pre_path = osp.join(
        REPO_ROOT, f'configs/mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_{args.dataset}.py')
    pre = Config.fromfile(pre_path)
    # a second load, not Config.copy(): that copy is shallow, and the edits below would
    # turn the batched-mask run into a second pipeline-mask run
    pipe = Config.fromfile(pre_path)
    pipe.model.data_preprocessor = dict(type='SelfSupDataPreprocessor')
    pipe.train_dataloader.dataset.pipeline = [
        dict(type='MultiView', num_views=2,
             transforms=[[dict(type='RandomFeatureMask', prob=0.5)]]),
        dict(type='PackInputs'),
    ]
    bce = Config.fromfile(osp.join(
        REPO_ROOT, f'configs/baselines/mlp_1xb32-bce-adam-1500it_{args.dataset}.py'))
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg', 'test_dataloader',
                'test_evaluator', 'test_cfg'):
        bce[key] = None
    bce.param_scheduler = []
    bce.custom_hooks = []
    bce.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**9, by_epoch=False)
    cfgs = {'mulsupcon': pre, 'mulsupcon-pipeline-mask': pipe, 'bce': bce}
    # queue_mode='full' leaves the queue out of the loss until it is full: a warm-up shorter
    # than that would time a cheaper step than training's
    warmup = max(args.warmup, math.ceil(pre.model.queue_len / args.batch_size) + 1)
    for name, cfg in cfgs.items():
        cfg.work_dir = osp.join(work_root, name)
        cfg.train_dataloader.batch_size = args.batch_size
        cfg.train_dataloader.dataset.data_root = root
        # the downstream recipe trains by epochs to a validation plateau: time both in
        # mmengine's iteration loop, the pretraining's
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=warmup)
        # an epoch-based loader restarted by the iteration loop sleeps 2 s at every epoch end
        # (mmengine's _InfiniteDataloaderIterator): draw batches endlessly instead
        cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
        cfg.default_hooks.logger.interval = 10**9
        cfg.default_hooks.checkpoint.interval = 10**9
        cfg.log_level = 'WARNING'
    return cfgs


def rows_of(args, med, queue_len):
    """``run_all.py`` rows (seconds per iteration) of the medians ``med`` (ms per iteration).

    Memory is not measured here: the fields are None.
    """
    size = (f'{args.dataset}, MLP, batch {args.batch_size}, queue {queue_len}, '
            f'{args.threads} thread(s), {args.chunks} x {args.chunk_iters} iterations')
    rows = []
    for what, name, target in ROWS:
        ratio = med[name] / med['bce']
        rows.append(dict(what=what, size=size, ours_s=med[name] / 1e3, peer_s=med['bce'] / 1e3,
                         ratio=ratio, target=target, **{'pass': ratio <= target},
                         ours_mib=None, peer_mib=None, mem_ratio=None, mem_target=None,
                         mem_pass=None))
    return rows


def main(argv=None):
    args = parse_args(argv)
    root = osp.join(osp.abspath(args.data_root), FOLDERS[args.dataset])
    if not osp.isdir(root):
        raise SystemExit(f'{root} not found: give --data-root, the folder that holds '
                         f'{FOLDERS[args.dataset]}/')
    import torch
    from mmengine.runner import Runner

    import mlcl_plugin  # noqa: F401

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as work_root:
        runners = {}
        cfgs = _configs(args, work_root)
        queue_len = cfgs['mulsupcon'].model.queue_len
        for name, cfg in cfgs.items():
            runner = Runner.from_cfg(cfg)
            runner.train()  # builds everything and runs the untimed warm-up iterations
            runners[name] = runner
        times = {name: [] for name in runners}
        for _ in range(args.chunks):
            for name, runner in runners.items():
                loop = runner.train_loop
                start = time.perf_counter()
                for _ in range(args.chunk_iters):
                    loop.run_iter(next(loop.dataloader_iterator))
                times[name].append((time.perf_counter() - start) / args.chunk_iters * 1e3)
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f'{args.dataset}, batch {args.batch_size}, {args.threads} torch thread(s), '
          f'{args.chunks} interleaved chunks of {args.chunk_iters} iterations '
          '(data + forward + backward + optimiser + queue + hooks):')
    for name, ms in med.items():
        spread = f'{min(times[name]):.2f}-{max(times[name]):.2f}'
        print(f'  {name:<24s} {ms:7.2f} ms/iter (chunks {spread}); 150k iterations = '
              f'{ms * 150000 / 60000:.0f} min')
    print(f'ratio mulsupcon / bce step:               {med["mulsupcon"] / med["bce"]:.2f}x '
          '(target <= 2x)')
    print(f'ratio pipeline-mask / batched-mask step:  '
          f'{med["mulsupcon-pipeline-mask"] / med["mulsupcon"]:.2f}x')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows_of(args, med, queue_len), f, indent=1)
    return med


if __name__ == '__main__':
    main()
