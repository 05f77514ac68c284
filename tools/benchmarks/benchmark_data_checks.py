# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Cost of the issue-13 data checks on the normal data path, before and after, side by side.

"Before" is the code of the data modules at a baseline commit (``--baseline``, default the
last commit before the checks), read with ``git show`` and executed as a private module
(its registry decorators are bypassed, so nothing is registered twice); "after" is the code of
this checkout. Each case runs both sides on the same real files, interleaved item by item (a
file, a photo; the order alternating), and prints the median time per round of
each side and the median of the per-round ratios:

* ``mulan-arff``: ``MulanDataset`` on Mulan's ``yeast-train.arff`` and ``scene-train.arff``
  (1500 + 1211 rows, dense) and on a sparse ARFF written from the yeast rows, plus one pass
  of ``[PackInputs]`` over every sample;
* ``mulan-npz``: ``MulanDataset`` on the MulSupCon ``yeast_official_train.npz`` with the test
  file standardised by it (``scaler_file``), plus one pass of ``[PackInputs]``;
* ``coco-construct``: ``COCOMultiLabel`` on coco128 (128 images), 10 items per round;
* ``load-image``: ``LoadImageFromFile`` (mmcv's, then the plugin's checked one) over the coco128
  photos;
* ``blockwise``: ``BlockWiseAug`` with the reference T1/T2 pipelines (8 views of 224 px) +
  ``PackInputs`` on decoded coco128 photos (``--blockwise-images``), numpy's global
  generator reseeded identically for both sides, so both draw the same augmentations.

Datasets are built with ``serialize_data=False``: mmengine's serialisation (a ``gc.collect``
and a pickle of the list) is the same on both sides and would only dilute the ratio.
One OpenCV / torch thread, i.e. the work of one dataloader worker; times are this process's
CPU time. Target: every ratio <= 1.02.

Example::

    python tools/benchmarks/benchmark_data_checks.py --data-root ../shared/data --rounds 5
"""
import argparse
import glob
import importlib
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time
import types
from unittest import mock

import cv2
import numpy as np
import torch
from mmcv.transforms import LoadImageFromFile as StockLoadImageFromFile
from mmengine.logging import MMLogger
from mmengine.registry import Registry

try:
    import mlcl_plugin  # registers the plugin modules
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    import mlcl_plugin  # noqa: F401
from mlcl_plugin.datasets import COCOMultiLabel, MulanDataset
from mlcl_plugin.datasets.transforms import (
    BlockWiseAug,
    CheckedLoadImageFromFile,
    reference_pipelines,
)

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import orchestration as orch

REPO = orch.REPO_ROOT
# the last commit before the issue-13 data checks
DEFAULT_BASELINE = 'da4f9fb'
MODULES = {
    'mulan': 'mlcl_plugin/datasets/mulan.py',
    'coco': 'mlcl_plugin/datasets/coco_multilabel.py',
    'blockwise': 'mlcl_plugin/datasets/transforms/block_wise_aug.py',
}


def load_baseline(name: str, ref: str) -> types.ModuleType:
    """Execute ``MODULES[name]`` as it was at commit ``ref`` in a private module.

    Args:
        name (str): Key of :data:`MODULES`.
        ref (str): A git commit of this repository.

    Returns:
        module: The baseline module (its classes are not registered anywhere).
    """
    source = subprocess.run(['git', '-C', REPO, 'show', f'{ref}:{MODULES[name]}'],
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType(f'baseline_{name}')
    module.__file__ = f'{ref}:{MODULES[name]}'

    def no_register(self, *args, **kwargs):
        return lambda cls: cls

    # the baseline classes carry the registered names of the current ones: do not register
    with mock.patch.object(Registry, 'register_module', no_register):
        exec(compile(source, module.__file__, 'exec'), module.__dict__)
    return module


def write_sparse_arff(dense_path: str, out_path: str) -> None:
    """Write the rows of a dense ARFF as sparse rows ``{index value, ...}`` (same header)."""
    with open(dense_path) as src, open(out_path, 'w') as out:
        in_data = False
        for line in src:
            if not in_data:
                out.write(line)
                in_data = line.strip().lower() == '@data'
                continue
            values = [v.strip() for v in line.strip().split(',')] if line.strip() else []
            if values:
                items = [f'{i} {v}' for i, v in enumerate(values) if float(v) != 0.0]
                out.write('{' + ', '.join(items) + '}\n')


def interleave(sides: dict, items: list, rounds: int) -> dict:
    """CPU time of ``sides[side](item)`` for both sides on every item, ``rounds`` times.

    The two sides run back to back on each item, in an order that alternates from item to item
    and round to round, so that load changes on a shared machine hit both alike. CPU time of
    this (single-threaded) process rather than wall time: other jobs on a shared machine then
    only add cache and memory-bandwidth noise, not their whole time slices.

    Args:
        sides (dict): ``{'before': fn, 'after': fn}``, each ``fn(item)`` doing one unit of work.
        items (list): The units (files, photos).
        rounds (int): Passes over ``items``.

    Returns:
        dict: ``{side: [seconds per round]}``.
    """
    names = list(sides)
    times = {side: [0.0] * rounds for side in names}
    for r in range(rounds):
        for i, item in enumerate(items):
            for side in (names if (r + i) % 2 == 0 else names[::-1]):
                start = time.process_time()
                sides[side](item)
                times[side][r] += time.process_time() - start
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=orch.default_data_root())
    parser.add_argument('--baseline', default=DEFAULT_BASELINE,
                        help='git commit holding the code before the checks')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--blockwise-images', type=int, default=24,
                        help='coco128 photos per BlockWiseAug round')
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    # the datasets' INFO lines (dropped images) would interleave with the table
    MMLogger.get_instance('benchmark_data_checks', log_level='WARNING')
    old = {name: load_baseline(name, args.baseline) for name in MODULES}
    root = args.data_root
    coco128 = osp.join(root, 'coco128')
    photos = sorted(glob.glob(osp.join(coco128, 'train2017', '*.jpg')))
    tmp = tempfile.mkdtemp(prefix='data_checks_')
    sparse = osp.join(tmp, 'yeast-train-sparse.arff')
    write_sparse_arff(osp.join(root, 'mulan_yeast', 'yeast-train.arff'), sparse)
    pack = [dict(type='PackInputs')]

    def mulan_arff(cls):
        def run(path):
            # time the parse, not the in-process cache of parsed files
            getattr(importlib.import_module(cls.__module__), 'clear_arff_cache', lambda: None)()
            ds = cls(path, pipeline=pack, serialize_data=False)
            for i in range(len(ds)):
                ds[i]
        return run

    def mulan_npz(cls):
        yeast = osp.join(root, 'yeast_mulsupcon')

        def run(name):
            ds = cls(name, data_root=yeast, scaler_file='yeast_official_train.npz',
                     pipeline=pack, serialize_data=False)
            for i in range(len(ds)):
                ds[i]
        return run

    def coco(cls):
        def run(_):
            cls(ann_file='annotations/instances_train2017.json', data_root=coco128,
                data_prefix='train2017', serialize_data=False)
        return run

    def load_image(loader):
        return lambda path: loader(dict(img_path=path))

    def blockwise(cls):
        from mmengine.registry import DefaultScope
        from mmpretrain.registry import TRANSFORMS
        transform = cls(transforms=reference_pipelines(224), gamma=0.3)
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            packer = TRANSFORMS.build(dict(type='PackInputs',
                                           algorithm_keys=['block_idx', 'pipeline_idx']))

        def run(item):
            seed, img = item
            np.random.seed(seed)  # noqa: NPY002  (the transforms draw from the global generator)
            packer(transform(dict(img=img, img_path='x.jpg')))
        return run

    arff_files = [osp.join(root, 'mulan_yeast', 'yeast-train.arff'),
                  osp.join(root, 'mulan_scene', 'scene-train.arff'), sparse]
    decoded = [(i, cv2.imread(p)) for i, p in enumerate(photos[:args.blockwise_images])]
    cases = {
        'mulan-arff': (mulan_arff, old['mulan'].MulanDataset, MulanDataset, arff_files),
        'mulan-npz': (mulan_npz, old['mulan'].MulanDataset, MulanDataset,
                      ['yeast_official_train.npz', 'yeast_official_test.npz']),
        'coco-construct': (coco, old['coco'].COCOMultiLabel, COCOMultiLabel, list(range(10))),
        'load-image': (load_image, StockLoadImageFromFile(), CheckedLoadImageFromFile(),
                       photos),
        'blockwise': (blockwise, old['blockwise'].BlockWiseAug, BlockWiseAug, decoded),
    }
    print(f'baseline {args.baseline} vs this checkout, {args.rounds} rounds, sides interleaved '
          f'item by item; CPU ms, medians per round; one thread (pid {os.getpid()})')
    print(f'{"case":<16}{"items":>6}{"before (ms)":>13}{"after (ms)":>13}'
          f'{"after/before":>14}')
    worst = 0.0
    for name, (make, before_impl, after_impl, items) in cases.items():
        sides = {'before': make(before_impl), 'after': make(after_impl)}
        for run in sides.values():  # warm-up: imports, file cache, lazy registries
            run(items[0])
        times = interleave(sides, items, args.rounds)
        before, after = (statistics.median(times[s]) for s in ('before', 'after'))
        # median of the per-round ratios: each round's two totals ran side by side
        ratio = statistics.median(a / b for a, b in zip(times['after'], times['before']))
        worst = max(worst, ratio)
        print(f'{name:<16}{len(items):>6}{before * 1e3:>13.1f}{after * 1e3:>13.1f}'
              f'{ratio:>14.3f}')
    print(f'worst ratio {worst:.3f} (target <= 1.02)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
