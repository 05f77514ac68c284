# Copyright (c) mlcl_plugin authors. All rights reserved.
"""ImageAwareLoss against a plain per-row reference of the image-aware loss (Chen,
arXiv 2506.23156): both per-anchor forms, in-batch and against keys plus a queue."""
import math

import pytest
import torch
import torch.nn.functional as F

from mlcl_plugin.models.losses import ImageAwareLoss


def reference_loss(query, keys, query_ids, key_ids, self_index=None, tau=0.3, tau0=0.07,
                   form='log_sum'):
    """One anchor at a time, written from the paper's formulas (loops on purpose)."""
    terms = []
    for a in range(query.shape[0]):
        others = [b for b in range(keys.shape[0])
                  if self_index is None or b != int(self_index[a])]
        positives = [b for b in others
                     if int(query_ids[a]) >= 0 and int(key_ids[b]) == int(query_ids[a])]
        if not positives:
            continue
        sim = {b: torch.dot(query[a], keys[b]) / tau for b in others}
        log_den = torch.logsumexp(torch.stack([sim[b] for b in others]), dim=0)
        if form == 'log_sum':
            # log of the summed positive similarities over the denominator, divided by |P|
            log_num = torch.logsumexp(torch.stack([sim[b] for b in positives]), dim=0)
            term = -(tau / tau0) * (log_num - log_den) / len(positives)
        else:
            # SupCon L_out: mean over positives of the per-positive log-probability
            term = -(tau / tau0) * sum(sim[b] - log_den for b in positives) / len(positives)
        terms.append(term)
    if not terms:
        return (query.sum() + keys.sum()) * 0
    return torch.stack(terms).mean()


def _features(n, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)


def _block_ids(num_images, num_blocks=4):
    """Block-major image ids of one pipeline (block 0 of every image, block 1, ...)."""
    return torch.arange(num_images).repeat(num_blocks)


@pytest.mark.parametrize('form', ['log_sum', 'supcon'])
def test_in_batch_matches_reference_rows(form):
    # the reference's set F = [p1; z2]: 2 x 4 blocks of 3 images -> |P(a)| = 7 for every row
    feats = _features(24).requires_grad_()
    ids = torch.cat([_block_ids(3), _block_ids(3)])
    loss_fn = ImageAwareLoss(form=form)
    loss = loss_fn.in_batch(feats, ids)
    ref_feats = feats.detach().clone().requires_grad_()
    ref = reference_loss(ref_feats, ref_feats, ids, ids, torch.arange(24), form=form)
    torch.testing.assert_close(loss, ref)
    loss.backward()
    ref.backward()
    torch.testing.assert_close(feats.grad, ref_feats.grad)


@pytest.mark.parametrize('form', ['log_sum', 'supcon'])
@pytest.mark.parametrize(('tau', 'tau0'), [(0.3, 0.07), (0.2, 0.2), (0.05, 0.1)])
def test_queries_against_keys_and_queue_match_reference(form, tau, tau0):
    # MoCo use: 8 queries (4 blocks x 2 images), keys = 8 batch keys + 5 queue entries (id -1
    # or old ids), no self-exclusion
    query = _features(8, seed=1).requires_grad_()
    keys = _features(13, seed=2)
    query_ids = _block_ids(2) + 10
    key_ids = torch.cat([_block_ids(2) + 10, torch.tensor([-1, -1, 3, 4, 5])])
    loss = ImageAwareLoss(tau, tau0, form)(query, keys, query_ids, key_ids)
    ref_query = query.detach().clone().requires_grad_()
    ref = reference_loss(ref_query, keys, query_ids, key_ids, tau=tau, tau0=tau0, form=form)
    torch.testing.assert_close(loss, ref)
    loss.backward()
    ref.backward()
    torch.testing.assert_close(query.grad, ref_query.grad)


@pytest.mark.parametrize('form', ['log_sum', 'supcon'])
def test_anchors_without_positive_are_skipped(form):
    # image 5 has one view only; image -1 means "no image": neither has a positive
    feats = _features(7, seed=3).requires_grad_()
    ids = torch.tensor([0, 0, 1, 1, 1, 5, -1])
    loss_fn = ImageAwareLoss(form=form)
    total, count = loss_fn.loss_terms(feats, feats, ids, ids, torch.arange(7))
    assert count.item() == 5
    ref = reference_loss(feats, feats, ids, ids, torch.arange(7), form=form)
    torch.testing.assert_close(total / count, ref)
    loss_fn.in_batch(feats, ids).backward()
    assert torch.isfinite(feats.grad).all()


@pytest.mark.parametrize('form', ['log_sum', 'supcon'])
def test_no_positive_at_all_gives_zero_and_finite_grads(form):
    feats = _features(4, seed=4).requires_grad_()
    ids = torch.arange(4)
    loss = ImageAwareLoss(form=form).in_batch(feats, ids)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(feats.grad, torch.zeros_like(feats))
    # a single key that is the anchor itself: empty denominator, still no NaN
    one = _features(1, seed=5).requires_grad_()
    loss = ImageAwareLoss(form=form).in_batch(one, torch.tensor([0]))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(one.grad).all()


def test_forms_agree_with_one_positive_and_differ_with_several():
    feats = _features(6, seed=6)
    pairs = torch.tensor([0, 0, 1, 1, 2, 2])
    log_sum = ImageAwareLoss(form='log_sum').in_batch(feats, pairs)
    supcon = ImageAwareLoss(form='supcon').in_batch(feats, pairs)
    torch.testing.assert_close(log_sum, supcon)
    triples = torch.tensor([0, 0, 0, 1, 1, 1])
    assert not torch.allclose(ImageAwareLoss(form='log_sum').in_batch(feats, triples),
                              ImageAwareLoss(form='supcon').in_batch(feats, triples))


def test_hand_computed_value():
    # two orthogonal unit vectors of image 0 and their negatives of image 1
    feats = torch.tensor([[1., 0.], [0., 1.], [-1., 0.], [0., -1.]], dtype=torch.float64)
    ids = torch.tensor([0, 0, 1, 1])
    # every row: one positive at cos 0, the others at cos -1 and 0 -> log(1 / (1 + e^(-1/t) + 1))
    tau, tau0 = 0.5, 0.25
    expected = -(tau / tau0) * math.log(1 / (2 + math.exp(-1 / tau)))
    loss = ImageAwareLoss(tau, tau0).in_batch(feats, ids)
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_scale_is_tau_over_tau0():
    feats = _features(8, seed=7)
    ids = _block_ids(2)
    a = ImageAwareLoss(0.3, 0.3).in_batch(feats, ids)
    b = ImageAwareLoss(0.3, 0.07).in_batch(feats, ids)
    torch.testing.assert_close(b, a * 0.3 / 0.07)


def test_stable_for_sharp_temperatures_and_dtypes():
    feats = _features(16, seed=8).float().requires_grad_()
    ids = _block_ids(4)
    loss = ImageAwareLoss(temperature=1e-3).in_batch(feats, ids)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(feats.grad).all()
    assert loss.dtype == torch.float32
    assert ImageAwareLoss().in_batch(feats.detach().bfloat16(), ids).dtype == torch.float32
    assert ImageAwareLoss().in_batch(feats.detach().double(), ids).dtype == torch.float64


@pytest.mark.parametrize(('kwargs', 'match'), [
    (dict(temperature=0), 'temperature'),
    (dict(base_temperature=-1.0), 'base_temperature'),
    (dict(temperature=True), 'temperature'),
    (dict(form='mean'), 'form'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ImageAwareLoss(**kwargs)


def test_bad_inputs():
    loss_fn = ImageAwareLoss()
    q, k = _features(4), _features(5)
    qi, ki = torch.arange(4), torch.arange(5)
    with pytest.raises(ValueError, match='2-D'):
        loss_fn(q[0], k, qi, ki)
    with pytest.raises(ValueError, match='same feature dimension'):
        loss_fn(q, k[:, :3], qi, ki)
    with pytest.raises(ValueError, match='at least one key'):
        loss_fn(q, k[:0], qi, ki[:0])
    with pytest.raises(ValueError, match='query_ids has 3 entries but query has 4 rows'):
        loss_fn(q, k, qi[:3], ki)
    with pytest.raises(ValueError, match='key_ids must hold integer image ids'):
        loss_fn(q, k, qi, ki.float())
    with pytest.raises(ValueError, match='key_ids must be a 1-D'):
        loss_fn(q, k, qi, ki[:, None])
    with pytest.raises(ValueError, match='self_index'):
        loss_fn(q, k, qi, ki, torch.arange(3))
