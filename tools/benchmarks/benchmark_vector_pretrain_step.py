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

    python tools/benchmarks/benchmark_vector_pretrain_step.py --data-root ../shared/data
"""
import argparse
import os.path as osp
import statistics
import sys
import tempfile
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

FOLDERS = {'yeast': 'yeast_mulsupcon', 'scene': 'mulan_scene'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=osp.join(REPO_ROOT, 'data'))
    parser.add_argument('--dataset', default='yeast', choices=sorted(FOLDERS))
    parser.add_argument('--chunks', type=int, default=10, help='timed chunks per variant')
    parser.add_argument('--chunk-iters', type=int, default=50, help='iterations per chunk')
    parser.add_argument('--warmup', type=int, default=30, help='untimed iterations first')
    parser.add_argument('--threads', type=int, default=1, help='torch threads')
    parser.add_argument('--batch-size', type=int, default=64)
    return parser.parse_args(argv)


def _configs(args, work_root):
    from mmengine.config import Config

    root = osp.join(osp.abspath(args.data_root), FOLDERS[args.dataset])
    pre = Config.fromfile(osp.join(
        REPO_ROOT, f'configs/mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_{args.dataset}.py'))
    pipe = pre.copy()
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
    for name, cfg in cfgs.items():
        cfg.work_dir = osp.join(work_root, name)
        cfg.train_dataloader.batch_size = args.batch_size
        cfg.train_dataloader.dataset.data_root = root
        cfg.train_cfg.max_iters = args.warmup
        cfg.default_hooks.logger.interval = 10**9
        cfg.default_hooks.checkpoint.interval = 10**9
        cfg.log_level = 'WARNING'
    return cfgs


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmengine.runner import Runner

    import mlcl_plugin  # noqa: F401

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as work_root:
        runners = {}
        for name, cfg in _configs(args, work_root).items():
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
    return med


if __name__ == '__main__':
    main()
