# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Small batch-independent BlockSimSiam / BlockMoCo models and block-view batches.

GroupNorm instead of BatchNorm so that the loss of a sample does not depend on the rest of the
batch (exact DDP comparisons)."""
import numpy as np
import torch
from mmpretrain.structures import DataSample

from mlcl_plugin.models import BlockMoCo, BlockSimSiam
from tests.test_models.test_selfsup.moco_fixtures import TinyBackbone, TinyNeck

GN = dict(type='GN', num_groups=1)
NUM_BLOCKS = 4


def build_block_simsiam(seed=0, **kwargs):
    torch.manual_seed(seed)
    return BlockSimSiam(
        backbone=TinyBackbone(),
        neck=dict(type='NonLinearNeck', in_channels=6, hid_channels=8, out_channels=8,
                  num_layers=3, with_last_bn_affine=False, norm_cfg=GN),
        head=dict(type='LatentPredictHead', loss=dict(type='CosineSimilarityLoss'),
                  predictor=dict(type='NonLinearNeck', in_channels=8, hid_channels=4,
                                 out_channels=8, with_avg_pool=False, with_last_bn=False,
                                 with_last_bias=True, norm_cfg=GN)),
        **kwargs)


def build_block_moco(queue_len=32, queue_mode='always', seed=0, **head):
    torch.manual_seed(seed)
    return BlockMoCo(
        backbone=TinyBackbone(), neck=TinyNeck(),
        head=dict(type='ImageAwareHead', temperature=0.2, **head),
        queue_len=queue_len, feat_dim=5, momentum=0.1, queue_mode=queue_mode)


def make_block_batch(step, num_images, seed=200, num_blocks=NUM_BLOCKS, layout=True):
    """``2 x num_blocks`` views (pipeline-major), each ``num_images x 3 x 6 x 6``."""
    g = torch.Generator().manual_seed(seed + step)
    views = [torch.randn(num_images, 3, 6, 6, generator=g) for _ in range(2 * num_blocks)]
    samples = []
    for _ in range(num_images):
        sample = DataSample()
        if layout:
            sample.set_field(np.tile(np.arange(num_blocks), 2), 'block_idx')
            sample.set_field(np.repeat(np.arange(2), num_blocks), 'pipeline_idx')
        samples.append(sample)
    return views, samples
