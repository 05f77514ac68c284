# Copyright (c) mlcl_plugin authors. All rights reserved.
"""DDP: MulCon stage 2 on 2 gloo processes equals one process on the concatenated batch (the
label embeddings are gathered with gradient before the contrastive loss)."""
import os.path as osp

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from mmpretrain.structures import DataSample

import mlcl_plugin  # noqa: F401  (registers the modules)
from mlcl_plugin.models.classifiers import MulConClassifier

LOCAL_IMAGES = 3
NUM_CLASSES = 4


class TinyBackbone(nn.Module):
    """No batch norm: every sample's features are independent of the batch split."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)

    def forward(self, x):
        return (torch.relu(self.conv(x)), )


def build(gather=True):
    torch.manual_seed(0)
    model = MulConClassifier(
        backbone=TinyBackbone(),
        neck=dict(type='LabelWiseAttentionNeck', in_channels=8, num_classes=NUM_CLASSES,
                  embed_dims=8, num_heads=2, num_token_layers=1),
        head=dict(type='LabelWiseLinearClsHead', num_classes=NUM_CLASSES, in_channels=8),
        projector=dict(out_channels=6),
        contrast_loss=dict(type='LabelContrastiveLoss', temperature=0.2),
        gather=gather)
    model.init_weights()
    return model


def make_batch(num_images):
    g = torch.Generator().manual_seed(5)
    views = [torch.randn(num_images, 3, 8, 8, generator=g) for _ in range(2)]
    labels = torch.rand(num_images, NUM_CLASSES, generator=g) < 0.5
    labels[0] = False  # an image without labels
    labels[1, 0] = labels[-1, 0] = True  # class 0 on both ranks
    samples = [DataSample().set_gt_label(torch.nonzero(row).flatten().tolist())
               for row in labels]
    return views, samples


def _step(model, views, samples):
    out = model.loss(views, samples)
    model.zero_grad()
    (out['loss_cls'] + out['loss_con']).backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()
             if p.grad is not None}
    if dist.is_initialized():
        for g in grads.values():  # what DDP does: average over ranks
            dist.all_reduce(g)
            g /= dist.get_world_size()
    return out['loss_cls'].detach(), out['loss_con'].detach(), grads


def _worker(rank, world, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    try:
        views, samples = make_batch(LOCAL_IMAGES * world)
        part = slice(rank * LOCAL_IMAGES, (rank + 1) * LOCAL_IMAGES)
        local = ([v[part] for v in views], samples[part])
        result = _step(build(), *local)
        no_gather = build(gather=False).loss(*local)['loss_con'].detach()
        torch.save((result, no_gather), osp.join(out_dir, f'rank{rank}.pth'))
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_equal_one_process(tmp_path):
    world = 2
    mp.spawn(_worker, args=(world, str(tmp_path / 'init'), str(tmp_path)), nprocs=world,
             join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pth', weights_only=False) for r in range(world)]
    bce, con, grads = _step(build(), *make_batch(LOCAL_IMAGES * world))
    assert con > 0
    # DDP reports per-rank losses; their mean is the loss of the concatenated batch
    torch.testing.assert_close(torch.stack([r[0][0] for r in ranks]).mean(), bce)
    for (_, r_con, r_grads), no_gather in ranks:
        # every rank computes the contrastive loss of the global batch
        torch.testing.assert_close(r_con, con, rtol=1e-5, atol=1e-6)
        # without the gather the local contrast differs (so the check above can fail)
        assert not torch.allclose(no_gather, con, rtol=1e-3, atol=1e-4)
        assert r_grads.keys() == grads.keys()
        for name in grads:
            torch.testing.assert_close(r_grads[name], grads[name], rtol=1e-4, atol=1e-6,
                                       msg=name)
