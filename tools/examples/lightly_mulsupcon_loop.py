# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The plugin's multi-label losses in a plain PyTorch training loop built from Lightly parts.

Lightly has no supervised contrastive loss and no memory bank that stores labels. This script
shows how to use the plugin's :class:`~mlcl_plugin.models.losses.MulSupConLoss`, its
:class:`~mlcl_plugin.models.utils.LabelMemoryBank` and
:class:`~mlcl_plugin.models.losses.ImageAwareLoss` with Lightly's transforms, projection head
and momentum utilities - no mmengine runner, no config:

* data: the COCO photos of a COCO-format folder (``coco128`` by default) with image-level
  multi-hot labels read from the instances JSON, two views per image from Lightly's
  ``MoCoV2Transform``;
* model: a torchvision ResNet-18 trunk + Lightly's ``MoCoProjectionHead``, a momentum copy
  updated with ``lightly.models.utils.update_momentum`` (MoCo / MulSupCon style);
* loss: ``MulSupConLoss(q, [k; bank keys], y, [y_k; bank labels])`` (MulSupCon, Zhang & Wu,
  AAAI-24) + ``ia_weight * ImageAwareLoss`` where each query's own key is its only positive
  and the bank entries act as negatives (image id -1).

Run (a few seconds per step on 2 CPU cores at the defaults: batch 16, 64 px)::

    python tools/examples/lightly_mulsupcon_loop.py --data-root ../shared/data/coco128 --steps 5

Multi-GPU: launch with ``torchrun``, wrap the trunk and projection in DDP, use a
``DistributedSampler``; the bank gathers keys and labels across ranks by itself. For the exact
loss of the global batch use ``MulSupConLoss.loss_terms`` divided by
``mlcl_plugin.models.utils.global_mean_factor(count)``, and offset the image ids by
``rank * batch_size``.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time
from typing import List, Optional

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:  # run from a checkout without installing the plugin
    sys.path.insert(0, REPO_ROOT)


def default_data_root() -> str:
    shared = os.environ.get('MLCL_SHARED_DATA', osp.join(osp.dirname(REPO_ROOT), 'shared', 'data'))
    return osp.join(shared, 'coco128')


class CocoMultiLabelImages(Dataset):
    """COCO-format images with multi-hot labels (classes in ascending category id order).

    Returns ``(views, multi_hot, index)``; images without annotations get an all-zero row.
    """

    def __init__(self, root: str, ann_file: str, img_dir: str, transform) -> None:
        with open(osp.join(root, ann_file)) as f:
            coco = json.load(f)
        cat_ids = sorted(c['id'] for c in coco['categories'])
        self.num_classes = len(cat_ids)
        col = {cid: i for i, cid in enumerate(cat_ids)}
        self.images = sorted(coco['images'], key=lambda im: im['id'])
        row = {im['id']: i for i, im in enumerate(self.images)}
        self.labels = torch.zeros(len(self.images), self.num_classes)
        for ann in coco['annotations']:
            self.labels[row[ann['image_id']], col[ann['category_id']]] = 1.0
        self.img_dir = osp.join(root, img_dir)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        img = Image.open(osp.join(self.img_dir, self.images[i]['file_name'])).convert('RGB')
        return self.transform(img), self.labels[i], i


def build_encoder(out_dim: int) -> nn.Module:
    """ResNet-18 trunk (torchvision, random init) + Lightly's MoCo projection head."""
    import torchvision
    from lightly.models.modules import MoCoProjectionHead

    resnet = torchvision.models.resnet18()
    trunk = nn.Sequential(*list(resnet.children())[:-1], nn.Flatten(1))  # B x 512
    return nn.Sequential(trunk, MoCoProjectionHead(512, 512, out_dim))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-root', default=default_data_root())
    parser.add_argument('--ann-file', default='annotations/instances_train2017.json')
    parser.add_argument('--img-dir', default='train2017')
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--input-size', type=int, default=64)
    parser.add_argument('--feat-dim', type=int, default=128)
    parser.add_argument('--bank-size', type=int, default=64, help='keys (and labels) stored')
    parser.add_argument('--temperature', type=float, default=0.1)
    parser.add_argument('--ia-weight', type=float, default=0.5,
                        help='weight of the image-aware loss (0 disables it)')
    parser.add_argument('--momentum', type=float, default=0.99,
                        help='key encoder: theta_k <- m theta_k + (1 - m) theta_q')
    parser.add_argument('--lr', type=float, default=0.03)
    parser.add_argument('--num-workers', type=int, default=0)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Train for ``--steps`` steps; returns the per-step losses and the bank fill."""
    from lightly.models.utils import deactivate_requires_grad, update_momentum
    from lightly.transforms import MoCoV2Transform

    from mlcl_plugin.models.losses import ImageAwareLoss, MulSupConLoss
    from mlcl_plugin.models.utils import LabelMemoryBank

    args = parse_args(argv)
    torch.manual_seed(args.seed)
    dataset = CocoMultiLabelImages(args.data_root, args.ann_file, args.img_dir,
                                   MoCoV2Transform(input_size=args.input_size))
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True,
                        num_workers=args.num_workers)

    encoder = build_encoder(args.feat_dim)
    encoder_k = copy.deepcopy(encoder)
    deactivate_requires_grad(encoder_k)
    bank = LabelMemoryBank(size=(args.bank_size, args.feat_dim),
                           num_classes=dataset.num_classes)
    mulsupcon = MulSupConLoss(temperature=args.temperature)
    image_aware = ImageAwareLoss()
    optimizer = torch.optim.SGD(encoder.parameters(), lr=args.lr, momentum=0.9,
                                weight_decay=1e-4)

    losses, step = [], 0
    while step < args.steps:
        for (x_q, x_k), labels, _ in loader:
            tic = time.perf_counter()
            update_momentum(encoder, encoder_k, m=args.momentum)
            q = F.normalize(encoder(x_q), dim=1)  # B x D
            with torch.no_grad():
                k = F.normalize(encoder_k(x_k), dim=1)  # B x D
            # gathered batch keys first, then the bank as it was before this step
            ref_k, ref_y = bank(k, labels)  # (B + V) x D, (B + V) x C
            loss = mulsupcon(q, ref_k, labels, ref_y)
            if args.ia_weight:
                ids = torch.arange(q.shape[0])
                ref_ids = torch.cat([ids, ids.new_full((ref_k.shape[0] - q.shape[0], ), -1)])
                loss = loss + args.ia_weight * image_aware(q, ref_k, ids, ref_ids)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            print(f'step {step}: loss {losses[-1]:.4f}  reference keys {ref_k.shape[0]}  '
                  f'bank {bank.num_valid}/{args.bank_size}  {time.perf_counter() - tic:.2f} s',
                  flush=True)
            step += 1
            if step == args.steps:
                break
    return dict(losses=losses, bank_valid=bank.num_valid)


if __name__ == '__main__':
    main()
