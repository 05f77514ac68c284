# Copyright (c) mlcl_plugin authors. All rights reserved.
"""ImageAwareHead: weight, logged positives, in-batch form (its DDP exactness is checked
through BlockSimSiam / BlockMoCo with 2 gloo processes)."""
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

import mlcl_plugin  # noqa: F401  (registers the head)
from mlcl_plugin.models.losses import ImageAwareLoss


def _feats(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, 8, generator=g), dim=1)


def test_in_batch_is_weighted_loss_of_every_other_row():
    head = MODELS.build(dict(type='ImageAwareHead', loss_weight=4.0, form='supcon'))
    feats = _feats(16)
    ids = torch.arange(2).repeat(4).repeat(2)  # [p; z] rows of 4 blocks x 2 images
    out = head.loss_in_batch(feats, ids)
    expected = 4.0 * ImageAwareLoss(form='supcon').in_batch(feats, ids)
    torch.testing.assert_close(out['loss'], expected)
    assert out['positives_per_anchor'].item() == 7.0  # 2m - 1 with m = 4 blocks


def test_queue_keys_are_negatives():
    head = MODELS.build(dict(type='ImageAwareHead'))
    query = _feats(8, seed=1)
    keys = torch.cat([_feats(8, seed=2), _feats(4, seed=3)])
    ids = torch.arange(100, 102).repeat(4)
    key_ids = torch.cat([ids, torch.tensor([0, 1, 2, -1])])
    out = head.loss(query, keys, ids, key_ids)
    assert out['positives_per_anchor'].item() == 4.0
    torch.testing.assert_close(out['loss'], ImageAwareLoss()(query, keys, ids, key_ids))
    # the queue entries enlarge only the denominator: dropping them lowers the loss
    assert head.loss(query, keys[:8], ids, key_ids[:8])['loss'] < out['loss']
