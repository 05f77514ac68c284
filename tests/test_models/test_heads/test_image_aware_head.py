# Copyright (c) mlcl_plugin authors. All rights reserved.
"""ImageAwareHead: the head contract (dict with loss and logged positives), weight, in-batch use
through ``self_index`` (its DDP exactness is checked through BlockSimSiam / BlockMoCo with 2
gloo processes)."""
import pytest
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
    out = head.loss(feats, feats, ids, ids, self_index=torch.arange(16))
    expected = 4.0 * ImageAwareLoss(form='supcon').in_batch(feats, ids)
    torch.testing.assert_close(out['loss'], expected)
    assert out['positives_per_anchor'].item() == 7.0  # 2m - 1 with m = 4 blocks
    assert set(out) == {'loss', 'positives_per_anchor'}
    assert not hasattr(head, 'loss_in_batch')  # the algorithm gathers, not the head


def test_local_rows_against_all_rows_sum_to_the_in_batch_loss():
    """What BlockSimSiam does on each rank: its rows against the rows of every rank; the
    per-rank losses (as DDP averages them) give the loss of the whole batch."""
    head = MODELS.build(dict(type='ImageAwareHead'))
    feats = _feats(16, seed=4)
    ids = torch.arange(4).repeat(4)
    whole = head.loss(feats, feats, ids, ids, self_index=torch.arange(16))['loss']
    loss_fn = head.loss_module
    parts = [loss_fn.loss_terms(feats[r], feats, ids[r], ids, torch.arange(16)[r])
             for r in (slice(0, 8), slice(8, 16))]
    total = sum(p[0] for p in parts) / sum(p[1] for p in parts)
    torch.testing.assert_close(total, whole)


def test_queue_keys_are_negatives():
    head = MODELS.build(dict(type='ImageAwareHead'))
    query = _feats(8, seed=1)
    keys = torch.cat([_feats(8, seed=2), _feats(4, seed=3)])
    ids = torch.arange(100, 102).repeat(4)
    key_ids = torch.cat([ids, torch.tensor([0, 1, 2, -1])])
    out = head.loss(query, keys, ids, key_ids, pair_index=torch.arange(8))
    assert out['positives_per_anchor'].item() == 4.0
    torch.testing.assert_close(out['loss'], ImageAwareLoss()(query, keys, ids, key_ids))
    # the queue entries enlarge only the denominator: dropping them lowers the loss
    assert head.loss(query, keys[:8], ids, key_ids[:8])['loss'] < out['loss']


def test_temperature_convention():
    """tau divides the similarities; the loss is multiplied by tau / tau0 (None: by 1)."""
    query, keys = _feats(8, seed=5), _feats(8, seed=6)
    ids = torch.arange(2).repeat(4)
    plain = MODELS.build(dict(type='ImageAwareHead', temperature=0.2, base_temperature=None))
    scaled = MODELS.build(dict(type='ImageAwareHead', temperature=0.2, base_temperature=0.05))
    a = plain.loss(query, keys, ids, ids)['loss']
    b = scaled.loss(query, keys, ids, ids)['loss']
    torch.testing.assert_close(b, a * 0.2 / 0.05)
    with pytest.raises(ValueError, match='base_temperature must be a positive number'):
        MODELS.build(dict(type='ImageAwareHead', base_temperature=0))
