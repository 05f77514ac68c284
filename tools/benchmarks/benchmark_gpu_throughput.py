# Copyright (c) mlcl_plugin authors. All rights reserved.
"""GPU training throughput of our ResNet-50 pretraining steps against mmpretrain's.

Each pair builds two models from the GPU recipe's configs (``configs/real_photos/gpu/``, PETA,
ResNet-50, 256 images per step) on the same GPU and times whole training steps side by side:
``model.train_step(batch, optim_wrapper)`` as mmengine's loop calls it (data preprocessor with
the host-to-device copy of a pinned batch, forward, loss, backward, optimiser step, momentum
update) plus the ``.item()`` of the loss that the loop's logger does every step. The batch is
one real collated batch of each config's own training pipeline run on random-pixel photos of
PETA's size with real PETA label rows (``--labels``), so label structure, view count, view size
and collate are the training run's; only file reading and decoding are left out (the data
loader's side is ``benchmark_data_loading.py``).

Pairs (ours / peer):

* ``mulsupcon``: ``MultiLabelMoCo`` + ``MulSupConHead`` against mmpretrain's ``MoCo`` (v2
  neck and head) with the same backbone, batch, views and queue length. Target >= 0.95x.
* ``blocksimsiam``: ``BlockSimSiam`` (8 block views of 192 x 96 per image) against mmpretrain's
  ``SimSiam`` fed the same number of views of the same size (a batch of 4 x the images, two
  192 x 96 views each): the backbone work is identical, the ratio is what our image-aware loss
  and view bookkeeping cost. Target >= 0.95x. The per-image ratio against stock SimSiam's own
  recipe (2 views of 256 x 128) is printed too: that is the method's cost, not an overhead.
* ``blockmoco``: ``BlockMoCo`` against ``MoCo`` fed the same views, likewise (no target).

Each pair is measured in fp32 (the configs' ``OptimWrapper``) and with mmengine's
``AmpOptimWrapper`` in fp16 and bf16. Timing: warm-up steps, then ``--rounds`` rounds of
``--iters`` steps of each model in alternating order; the median step time per model. Every
loss is checked finite and the parameters are checked finite after the last step (an AMP run
that produced a NaN is reported as such, never hidden).

Examples::

    python tools/benchmarks/benchmark_gpu_throughput.py --labels work_dirs/peta_labels.npy \\
        --json work_dirs/bench/gpu.json
    python tools/benchmarks/benchmark_gpu_throughput.py --device cpu --tiny   # smoke test
    python tools/benchmarks/benchmark_gpu_throughput.py --readme README.md \\
        --from-json work_dirs/bench/gpu.json                                  # README block
"""
import argparse
import copy
import json
import math
import os
import os.path as osp
import platform
import statistics
import sys
import time

import numpy as np
import torch

HERE = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, HERE)
import orchestration as orch  # noqa: E402

GPU_CFG = osp.join(REPO_ROOT, 'configs', 'real_photos', 'gpu')
README_BEGIN = '<!-- gpu-throughput:begin -->'
README_END = '<!-- gpu-throughput:end -->'
TARGET = 0.95

# name -> (ours config, peer config, how the peer is fed). 'same': the peer's own pipeline;
# 'views': the peer fed ours' views (same number and size), see the module docstring.
PAIRS = {
    'mulsupcon': ('mulsupcon_resnet50_1xb256-adam-100e_peta.py',
                  'mocov2_resnet50_1xb256-adam-100e_peta.py', 'same', TARGET),
    'blocksimsiam': ('blocksimsiam_resnet50_1xb256-sgd-100e_peta.py',
                     'simsiam_resnet50_1xb256-sgd-100e_peta.py', 'views', TARGET),
    'blockmoco': ('blockmoco_resnet50_1xb256-adam-100e_peta.py',
                  'mocov2_resnet50_1xb256-adam-100e_peta.py', 'views', None),
}
PRECISIONS = ('fp32', 'fp16', 'bf16')


def load_cfg(name, tiny):
    """The GPU config ``name``; ``tiny`` shrinks it to a CPU smoke-test size."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(GPU_CFG, name))
    if tiny:
        cfg.model.backbone.update(depth=18, stem_channels=8, base_channels=8)
        in_ch = 64
        neck = cfg.model.neck
        neck.in_channels = in_ch
        for key in ('hid_channels', 'out_channels'):
            if key in neck:
                neck[key] = 32
        head = cfg.model.get('head', {})
        if 'predictor' in head:
            head.predictor.update(in_channels=32, hid_channels=16, out_channels=32)
        if 'queue_len' in cfg.model:
            cfg.model.queue_len = 64
        if 'feat_dim' in cfg.model:
            cfg.model.feat_dim = neck.get('out_channels', cfg.model.feat_dim)
        _shrink_crops(cfg.train_dataloader.dataset.pipeline)
    return cfg


def _shrink_crops(node):
    """Every crop of a pipeline at 1/8 of its side (tiny smoke-test views)."""
    if isinstance(node, (list, tuple)):
        for item in node:
            _shrink_crops(item)
    elif isinstance(node, dict):
        if node.get('type') == 'RandomResizedCrop':
            node['scale'] = tuple(max(side // 8, 8) for side in node['scale'])
        for value in node.values():
            if isinstance(value, (list, tuple, dict)):
                _shrink_crops(value)


def pipeline_of(cfg):
    """The config's training pipeline without file loading (the photos are made in memory)."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    steps = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] != 'LoadImageFromFile']
    return Compose(steps)


def peer_views_pipeline(ours_cfg):
    """Two views of ours' block-view size and augmentation per photo (the 'views' peer)."""
    views = [t for t in ours_cfg.train_dataloader.dataset.pipeline if t['type'] == 'BlockWiseAug']
    block_view = copy.deepcopy(views[0]['transforms'][0])
    return [dict(type='MultiView', num_views=2, transforms=[block_view]), dict(type='PackInputs')]


def make_batch(cfg, pipeline, num_images, labels, photo_hw, seed):
    """One collated training batch of ``num_images`` random-pixel photos with real label rows."""
    from mmengine.registry import FUNCTIONS
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(num_images):
        img = rng.integers(0, 256, (*photo_hw, 3), dtype=np.uint8)
        row = labels[i % len(labels)]
        samples.append(pipeline(dict(img=img, img_shape=photo_hw, ori_shape=photo_hw,
                                     gt_label=np.flatnonzero(row).tolist())))
    collate_cfg = dict(cfg.train_dataloader.get('collate_fn', dict(type='pseudo_collate')))
    collate = FUNCTIONS.get(collate_cfg.pop('type'))
    batch = collate(samples, **collate_cfg)
    return batch


def pin(batch):
    """Pinned host memory, as the GPU recipe's loader (``pin_memory=True``) hands batches over."""
    if not torch.cuda.is_available():
        return batch
    if isinstance(batch, torch.Tensor):
        return batch.pin_memory()
    if isinstance(batch, (list, tuple)):
        return type(batch)(pin(b) for b in batch)
    if isinstance(batch, dict):
        return {k: pin(v) for k, v in batch.items()}
    return batch


class Runner:
    """One model, its optimiser wrapper and its batch, timed step by step."""

    def __init__(self, cfg, batch, precision, device):
        from mmengine.optim import build_optim_wrapper
        from mmpretrain.registry import MODELS
        self.model = MODELS.build(cfg.model).to(device)
        self.model.train()
        optim_cfg = copy.deepcopy(cfg.optim_wrapper)
        if precision != 'fp32':
            optim_cfg.update(type='AmpOptimWrapper', loss_scale='dynamic',
                             dtype='float16' if precision == 'fp16' else 'bfloat16')
        self.optim = build_optim_wrapper(self.model, optim_cfg)
        self.batch = batch
        self.device = device
        self.nonfinite = 0
        self.times = []

    def sync(self):
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()

    def step(self):
        log_vars = self.model.train_step(self.batch, self.optim)
        # mmengine's loop logs the loss every step: one host sync, as in training
        loss = float(torch.as_tensor(log_vars['loss']).detach())
        if not math.isfinite(loss):
            self.nonfinite += 1
        return loss

    def run(self, iters, record=True):
        self.sync()
        start = time.perf_counter()
        for _ in range(iters):
            self.step()
        self.sync()
        if record:
            self.times.append((time.perf_counter() - start) / iters)

    def params_finite(self):
        return all(bool(torch.isfinite(p).all()) for p in self.model.parameters())


def peak_memory(runner, iters):
    """Peak GPU memory (bytes) over ``iters`` steps; 0 off CUDA."""
    if not runner.device.startswith('cuda'):
        runner.run(iters, record=False)
        return 0
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    runner.run(iters, record=False)
    return torch.cuda.max_memory_allocated()


def measure_pair(name, args, labels):
    ours_name, peer_name, feed, target = PAIRS[name]
    ours_cfg, peer_cfg = load_cfg(ours_name, args.tiny), load_cfg(peer_name, args.tiny)
    batch_size = args.batch or ours_cfg.train_dataloader.batch_size
    photo_hw = tuple(args.photo_hw)
    ours_batch = pin(make_batch(ours_cfg, pipeline_of(ours_cfg), batch_size, labels, photo_hw, 0))
    views_per_image = len(ours_batch['inputs'])
    if feed == 'views':
        # the same views: views_per_image / 2 images per ours-image, two views each
        from mmengine.dataset import Compose
        peer_pipeline = Compose(peer_views_pipeline(ours_cfg))
        peer_images = batch_size * views_per_image // 2
    else:
        peer_pipeline = pipeline_of(peer_cfg)
        peer_images = batch_size
    peer_batch = pin(make_batch(peer_cfg, peer_pipeline, peer_images, labels, photo_hw, 1))
    if 'queue_len' in peer_cfg.model:
        # the key queue takes whole batches of keys
        peer_cfg.model.queue_len = max(peer_cfg.model.queue_len // peer_images, 1) * peer_images
    stock_batch = None
    if feed == 'views' and args.stock:
        stock_batch = pin(make_batch(peer_cfg, pipeline_of(peer_cfg), batch_size, labels,
                                     photo_hw, 2))
    rows = []
    for precision in args.precisions:
        if precision != 'fp32' and not args.device.startswith('cuda'):
            print(f'{name} {precision}: skipped, mmengine AMP needs a GPU')
            continue
        if precision == 'bf16' and not torch.cuda.is_bf16_supported():
            print(f'{name} bf16: skipped, this GPU has no bf16')
            continue
        torch.manual_seed(0)
        ours = Runner(ours_cfg, ours_batch, precision, args.device)
        peer = Runner(peer_cfg, peer_batch, precision, args.device)
        stock = Runner(peer_cfg, stock_batch, precision, args.device) if stock_batch else None
        runners = [r for r in (ours, peer, stock) if r is not None]
        for r in runners:
            r.run(args.warmup, record=False)
        memory = [peak_memory(r, 1) for r in runners]
        for k in range(args.rounds):
            order = runners if k % 2 == 0 else runners[::-1]
            for r in order:
                r.run(args.iters)
        t_ours, t_peer = statistics.median(ours.times), statistics.median(peer.times)
        row = dict(
            pair=name, ours=ours_name, peer=peer_name, feed=feed, precision=precision,
            batch=batch_size, peer_batch=peer_images, views_per_image=views_per_image,
            ours_step_s=t_ours, peer_step_s=t_peer,
            ours_images_per_s=batch_size / t_ours, peer_images_per_s=peer_images / t_peer,
            ratio=t_peer / t_ours, target=target,
            ours_peak_gib=memory[0] / 2**30, peer_peak_gib=memory[1] / 2**30,
            ours_nonfinite=ours.nonfinite, peer_nonfinite=peer.nonfinite,
            ours_params_finite=ours.params_finite(), peer_params_finite=peer.params_finite(),
            steps=args.warmup + 1 + args.rounds * args.iters, rounds=args.rounds,
            iters=args.iters)
        if stock is not None:
            t_stock = statistics.median(stock.times)
            row.update(stock_images_per_s=batch_size / t_stock,
                       per_image_ratio_vs_stock=t_stock / t_ours,
                       stock_peak_gib=memory[2] / 2**30)
        row['pass'] = (target is None or row['ratio'] >= target) and row['ours_nonfinite'] == 0 \
            and row['ours_params_finite']
        rows.append(row)
        print(format_row(row), flush=True)
        del ours, peer, stock, runners
        if args.device.startswith('cuda'):
            torch.cuda.empty_cache()
    return rows


def format_row(row):
    target = '-' if row['target'] is None else f">= {row['target']:.2f}x"
    extra = ''
    if 'per_image_ratio_vs_stock' in row:
        extra = (f" | per image vs stock recipe {row['per_image_ratio_vs_stock']:.2f}x "
                 f"({row['stock_images_per_s']:.0f} img/s)")
    nan = 'none' if row['ours_nonfinite'] == 0 and row['ours_params_finite'] else \
        f"{row['ours_nonfinite']} non-finite losses, params finite: {row['ours_params_finite']}"
    return (f"{row['pair']:<13} {row['precision']:<5} ours {row['ours_images_per_s']:8.0f} img/s "
            f"peer {row['peer_images_per_s']:8.0f} img/s (batch {row['peer_batch']}) "
            f"ratio {row['ratio']:.3f}x target {target} | peak {row['ours_peak_gib']:.1f} / "
            f"{row['peer_peak_gib']:.1f} GiB | NaN: {nan}{extra}")


def markdown(result):
    """The README block: one row per pair and precision, from a ``--json`` result."""
    head = (f"GPU: {result['gpu']}; torch {result['torch']}, commit {result['commit']}, "
            f"{result['date']}; {result['rounds']} rounds x {result['iters']} steps per model, "
            f"median step; wall {result['wall_s']:.0f} s. Generated by "
            '`tools/benchmarks/benchmark_gpu_throughput.py`. Ratio: peer step time / ours '
            "(same images, or the same views where the peer is fed ours' views); img/s counts "
            "each model's own images per step.")
    lines = [head, '',
             '| pair (ours / peer) | precision | ours img/s | peer img/s | ratio | target | pass '
             '| peak GiB ours / peer | non-finite losses (ours) |',
             '| --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for r in result['rows']:
        peer = r['peer'].split('_')[0]
        if r['feed'] == 'views':
            peer += f" fed the same views ({r['peer_batch']} images x 2)"
        target = '-' if r['target'] is None else f">= {r['target']:.2f}x"
        lines.append(
            f"| {r['ours'].split('_')[0]} / {peer} | {r['precision']} | "
            f"{r['ours_images_per_s']:.0f} | {r['peer_images_per_s']:.0f} | "
            f"{r['ratio']:.2f}x | {target} | {'yes' if r['pass'] else 'no'} | "
            f"{r['ours_peak_gib']:.1f} / {r['peer_peak_gib']:.1f} | {r['ours_nonfinite']} |")
    stock = [r for r in result['rows'] if 'per_image_ratio_vs_stock' in r]
    if stock:
        lines += ['', 'Per image against the stock recipe (2 views of 256 x 128 px; the block '
                  "methods' extra views are their cost, not an overhead): " + ', '.join(
                      f"{r['ours'].split('_')[0]} {r['precision']} "
                      f"{r['per_image_ratio_vs_stock']:.2f}x" for r in stock) + '.']
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--pairs', nargs='+', default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument('--precisions', nargs='+', default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument('--labels', help='.npy of 0/1 label rows (N x 35); default: random '
                        'rows at the density of PETA training labels (0.24)')
    parser.add_argument('--batch', type=int, help='images per step (default: the config)')
    parser.add_argument('--photo-hw', type=int, nargs=2, default=(160, 64),
                        help='size of the random photos fed to the pipelines (PETA median)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--iters', type=int, default=6)
    parser.add_argument('--no-stock', dest='stock', action='store_false',
                        help="skip the per-image comparison with the peer's own recipe")
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--tiny', action='store_true', help='tiny models (CPU smoke test)')
    parser.add_argument('--json', help='write the result here')
    parser.add_argument('--from-json', help='only format an earlier --json result')
    parser.add_argument('--readme', help='write the table between the gpu-throughput markers')
    args = parser.parse_args()

    if args.from_json:
        with open(args.from_json) as f:
            result = json.load(f)
    else:
        from mmpretrain.utils import register_all_modules

        import mlcl_plugin  # noqa: F401  (registers the plugin's modules)
        register_all_modules(init_default_scope=True)
        if args.labels:
            labels = np.load(args.labels).astype(bool)
        else:
            labels = np.random.default_rng(0).random((1024, 35)) < 0.24
        if args.device.startswith('cuda'):
            torch.backends.cudnn.benchmark = False  # the configs' env_cfg
        start = time.perf_counter()
        rows = []
        result = dict(
            gpu=torch.cuda.get_device_name() if args.device.startswith('cuda') else
            platform.processor() or 'cpu',
            torch=torch.__version__, commit=commit(), date=time.strftime('%Y-%m-%d %H:%M'),
            rounds=args.rounds, iters=args.iters, rows=rows, wall_s=0.0)
        for name in args.pairs:
            rows += measure_pair(name, args, labels)
            result['wall_s'] = time.perf_counter() - start
            if args.json:  # after every pair: a run cut short keeps what it measured
                orch.atomic_write_json(args.json, result)
    print(markdown(result))
    if args.readme:
        orch.replace_marked_block(args.readme, README_BEGIN, README_END, [markdown(result)])


def commit():
    """``$MLCL_COMMIT`` when set (a copy of the tree whose git metadata may not be its own, as
    on a lent GPU machine), else this checkout's commit."""
    return os.environ.get('MLCL_COMMIT') or orch.git_commit(mark_dirty=True)


if __name__ == '__main__':
    main()
