# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Data-pipeline throughput of BlockWiseAug (8 views) against MoCo v2's two views.

Both pipelines decode the JPEG (``LoadImageFromFile``), make their views and pack them
(``PackInputs``), in this process with one OpenCV / torch thread, i.e. the work of one
dataloader worker:

* ``blockwise``: ``BlockWiseAug`` with the arXiv 2506.23156 T1/T2 pipelines on a 2 x 2 grid
  (gamma 0.3) -> 8 views of 224 px;
* ``mocov2``: mmpretrain's ``MultiView(num_views=2)`` with the MoCo v2 view pipeline of
  ``mmpretrain::_base_/datasets/imagenet_bs32_mocov2.py`` -> 2 views of 224 px.

The two are interleaved round by round (ABAB..., the order alternating each round) over the same
images, and the ratio of the median times per image is printed. Target: at most 4.5 x the
two-view cost (8 views are 4 x the view work; the image is decoded once).

``--json PATH`` writes the comparison as a row of ``run_all.py``'s table (seconds per image);
``--quick`` uses 8 images and 2 rounds (CI size).

Example::

    python tools/benchmarks/benchmark_blockwise_pipeline.py \
        --data-root ../shared/data/coco128/train2017 --rounds 5
"""
import argparse
import glob
import json
import os.path as osp
import statistics
import sys
import time

import cv2
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.registry import DefaultScope

try:
    import mlcl_plugin  # registers BlockWiseAug
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    import mlcl_plugin  # noqa: F401
from mlcl_plugin.datasets.transforms import reference_pipelines

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import orchestration as orch

TARGET = 4.5
# (full, quick) defaults; an explicit option wins over both
SIZES = dict(rounds=(5, 2), num_images=(128, 8))
MOCOV2_VIEW = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.), backend='pillow'),
    dict(type='RandomApply',
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4,
                          hue=0.1)],
         prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5),
    dict(type='RandomFlip', prob=0.5),
]


def build_pipelines(size: int = 224) -> dict:
    """The two pipelines, built as a config would build them (default scope mmpretrain)."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        blockwise = Compose([
            dict(type='LoadImageFromFile'),
            dict(type='BlockWiseAug', gamma=0.3, grid=2, transforms=reference_pipelines(size)),
            dict(type='PackInputs', algorithm_keys=['block_idx', 'pipeline_idx']),
        ])
        view = [dict(t, scale=size) if t['type'] == 'RandomResizedCrop' else t
                for t in MOCOV2_VIEW]
        mocov2 = Compose([
            dict(type='LoadImageFromFile'),
            dict(type='MultiView', num_views=2, transforms=[view]),
            dict(type='PackInputs'),
        ])
    return dict(blockwise=blockwise, mocov2=mocov2)


def time_pass(pipeline, paths) -> float:
    """Seconds to run ``pipeline`` over every image once."""
    start = time.perf_counter()
    for path in paths:
        out = pipeline(dict(img_path=path))
        assert out is not None
    return time.perf_counter() - start


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=orch.default_data_root('coco128', 'train2017'),
        help='folder of JPEG images (default: ../shared/data/coco128/train2017)')
    parser.add_argument('--rounds', type=int, help='interleaved rounds (default 5, quick 2)')
    parser.add_argument('--num-images', type=int, help='images (default 128, quick 8)')
    parser.add_argument('--size', type=int, default=224, help='view side in pixels')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--quick', action='store_true', help='8 images, 2 rounds (CI size)')
    parser.add_argument('--json', help="write run_all.py's row to this JSON file")
    args = parser.parse_args(argv)
    for key, (full, quick) in SIZES.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)

    paths = sorted(glob.glob(osp.join(args.data_root, '*.jpg')))[:args.num_images]
    if not paths:
        raise SystemExit(f'no .jpg images under {args.data_root}')
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    np.random.seed(args.seed)  # noqa: NPY002  (the transforms draw from numpy's global RNG)
    pipelines = build_pipelines(args.size)
    names = list(pipelines)
    for name in names:  # warm-up: imports, caches, first-call costs
        time_pass(pipelines[name], paths[:4])
    times = {name: [] for name in names}
    for r in range(args.rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            times[name].append(time_pass(pipelines[name], paths))
    result = {}
    print(f'{len(paths)} images from {args.data_root}, {args.rounds} interleaved rounds, '
          f'one thread, {args.size} px views')
    views = dict(blockwise=8, mocov2=2)
    for name in names:
        med = statistics.median(times[name])
        result[name] = len(paths) / med
        print(f'  {name:9s}: {result[name]:7.1f} images/s  ({result[name] * views[name]:7.1f} '
              f'views/s; per round s: {", ".join(f"{t:.2f}" for t in times[name])})')
    ratio = result['mocov2'] / result['blockwise']
    result['ratio'] = ratio
    print(f'cost ratio blockwise (8 views) / mocov2 (2 views): {ratio:.2f}x '
          f'(target <= {TARGET}x: {"met" if ratio <= TARGET else "NOT met"})')
    if args.json:
        row = dict(what='BlockWiseAug 8 views vs MoCo v2 2 views, per image',
                   size=f'{len(paths)} images, {args.size} px views, {args.rounds} rounds, '
                   'one thread',
                   ours_s=1 / result['blockwise'], peer_s=1 / result['mocov2'], ratio=ratio,
                   target=TARGET, **{'pass': ratio <= TARGET},
                   # memory is not measured here
                   ours_mib=None, peer_mib=None, mem_ratio=None, mem_target=None,
                   mem_pass=None)
        with open(args.json, 'w') as f:
            json.dump([row], f, indent=1)
    return result


if __name__ == '__main__':
    main()
