# Copyright (c) mlcl_plugin authors. All rights reserved.
"""A short CPU block-wise pretraining on the 128 real COCO photos of coco128, then a linear probe.

Sized for a CPU (a few minutes on 2 cores): a CIFAR-style ResNet-18 at 1/8 width (8 base
channels), ``BlockWiseAug`` (2 x 2 blocks, gamma 0.3, the reference's T1/T2 pipelines) at 32 px,
``BlockSimSiam`` (SimSiam without stop-gradient + 4 x image-aware loss, 256-d projector), SGD
with the reference's lr rule ``0.05 x images x 4 / 256`` and a half-cosine schedule. The
pretraining uses no labels and sees all 128 images.

Linear probe (labels used only here): frozen backbone (BN in eval mode), whole image resized to
``--probe-size`` px, features pooled as (max + avg) / 2 and standardised, one logistic-regression
layer (Adam, full batch, L2) per fold of a 4-fold split of the 128 images (same folds for both
backbones); reports the paper metric's mAP on the held-out fold, for the pretrained backbone
and for the same architecture at its random initialisation (same seed).

Example::

    python tools/benchmarks/run_blockwise_coco128.py --epochs 10 --width 8
"""
import argparse
import os.path as osp
import sys
import time
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

try:
    import mlcl_plugin  # registers the plugin
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    import mlcl_plugin  # noqa: F401
from mmengine.dataset import default_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS, MODELS

from mlcl_plugin.datasets.transforms import reference_pipelines
from mlcl_plugin.evaluation.metrics.multi_label_paper import MultiLabelPaperMetric
from mlcl_plugin.models.necks import AvgMaxPooling

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def model_cfg(width: int = 16) -> dict:
    bn1d = dict(type='BN1d')
    return dict(
        type='BlockSimSiam',
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=MEAN, std=STD, to_rgb=True),
        backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=width, base_channels=width,
                      norm_cfg=dict(type='BN'), zero_init_residual=True),
        neck=dict(type='NonLinearNeck', in_channels=8 * width, hid_channels=256, out_channels=256,
                  num_layers=3, with_last_bn_affine=False, norm_cfg=bn1d),
        head=dict(type='LatentPredictHead', loss=dict(type='CosineSimilarityLoss'),
                  predictor=dict(type='NonLinearNeck', in_channels=256, hid_channels=64,
                                 out_channels=256, with_avg_pool=False, with_last_bn=False,
                                 with_last_bias=True, norm_cfg=bn1d)),
        ia_head=dict(type='ImageAwareHead', temperature=0.3, base_temperature=0.07,
                     form='log_sum', loss_weight=4.0))


def dataset(root: str, pipeline: list, num_images: Optional[int] = None):
    return DATASETS.build(dict(
        type='COCOMultiLabel', data_root=root, ann_file='annotations/instances_train2017.json',
        data_prefix='train2017/', pipeline=pipeline, indices=num_images))


def pretrain(model, root, args) -> list:
    """Train ``model`` in place; returns the mean loss of every epoch."""
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='BlockWiseAug', gamma=0.3, transforms=reference_pipelines(args.size)),
        dict(type='PackInputs', algorithm_keys=['block_idx', 'pipeline_idx']),
    ]
    data = dataset(root, pipeline, args.num_images)
    loader = torch.utils.data.DataLoader(
        data, batch_size=args.batch_size, shuffle=True, drop_last=True,
        collate_fn=default_collate, num_workers=0,
        generator=torch.Generator().manual_seed(args.seed))
    lr = 0.05 * args.batch_size * 4 / 256 * args.lr_scale
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    wrapper = OptimWrapper(optimizer)
    history = []
    model.train()
    for epoch in range(args.epochs):
        for group in optimizer.param_groups:  # the reference's half-cosine per epoch
            group['lr'] = lr * 0.5 * (1 + np.cos(np.pi * epoch / args.epochs))
        start, parts = time.time(), []
        for batch in loader:
            log_vars = model.train_step(batch, wrapper)
            parts.append({k: float(torch.as_tensor(v).detach()) for k, v in log_vars.items()})
        mean = {k: float(np.mean([p[k] for p in parts])) for k in parts[0]}
        history.append(mean)
        print(f'epoch {epoch + 1}/{args.epochs}: loss {mean["loss"]:.4f} (simsiam '
              f'{mean["loss_simsiam"]:.4f}, 4 x ia {mean["loss_ia"]:.4f}), '
              f'{time.time() - start:.0f} s', flush=True)
    return history


@torch.no_grad()
def features(backbone, root, size, num_images=None) -> tuple:
    """Frozen (max + avg) / 2 features of every image resized to ``size`` and their targets."""
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(size, size), backend='pillow'),
        dict(type='PackInputs'),
    ]
    data = dataset(root, pipeline, num_images)
    items = [data[i] for i in range(len(data))]
    imgs = torch.stack([item['inputs'][[2, 1, 0]] for item in items]).float()  # BGR -> RGB
    imgs = (imgs - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    targets = torch.zeros(len(items), data.num_classes)
    for i, item in enumerate(items):
        targets[i, item['data_samples'].gt_label] = 1
    backbone.eval()
    pool = AvgMaxPooling()
    feats = torch.cat([pool(backbone(chunk))[-1] for chunk in imgs.split(32)])
    return feats, targets


def probe(feats, targets, folds, seed, steps=500) -> list:
    """mAP (%) of a logistic-regression probe on each held-out fold."""
    results = []
    for k in range(folds):
        test = torch.arange(len(feats)) % folds == k
        x_tr, y_tr, x_te, y_te = feats[~test], targets[~test], feats[test], targets[test]
        mu, sigma = x_tr.mean(0), x_tr.std(0).clamp_min(1e-6)
        x_tr, x_te = (x_tr - mu) / sigma, (x_te - mu) / sigma
        torch.manual_seed(seed)
        layer = torch.nn.Linear(feats.shape[1], targets.shape[1])
        opt = torch.optim.Adam(layer.parameters(), lr=1e-2, weight_decay=1e-3)
        for _ in range(steps):
            opt.zero_grad()
            F.binary_cross_entropy_with_logits(layer(x_tr), y_tr).backward()
            opt.step()
        with torch.no_grad():
            prob = torch.sigmoid(layer(x_te))
        results.append(MultiLabelPaperMetric.calculate(prob, y_te)['mAP'])
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=osp.join(
        osp.dirname(__file__), '..', '..', '..', 'shared', 'data', 'coco128'))
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--num-images', type=int, default=None,
                        help='use the first N images only (default: all 128)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--size', type=int, default=32, help='view side in pixels')
    parser.add_argument('--width', type=int, default=8, help='ResNet-18 base channels')
    parser.add_argument('--probe-size', type=int, default=64)
    parser.add_argument('--lr-scale', type=float, default=1.0,
                        help='multiplier of the reference lr rule')
    parser.add_argument('--folds', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.manual_seed(args.seed)
        np.random.seed(args.seed)  # noqa: NPY002  (the transforms draw from numpy's RNG)
        model = MODELS.build(model_cfg(args.width))
        model.init_weights()
        random_backbone = MODELS.build(model_cfg(args.width)['backbone'])
        random_backbone.load_state_dict(model.backbone.state_dict())  # the same random init

        start = time.time()
        history = pretrain(model, args.data_root, args)
        print(f'pretraining: {time.time() - start:.0f} s, loss {history[0]["loss"]:.4f} -> '
              f'{history[-1]["loss"]:.4f}')
        result = dict(history=history)
        for name, backbone in (('random init', random_backbone), ('pretrained', model.backbone)):
            feats, targets = features(backbone, args.data_root, args.probe_size,
                                      args.num_images)
            maps = probe(feats, targets, args.folds, args.seed)
            result[name] = maps
            print(f'linear probe, {name:11s}: mAP {np.mean(maps):.2f} % (folds: '
                  f'{", ".join(f"{m:.2f}" for m in maps)})')
    return result


if __name__ == '__main__':
    main()
