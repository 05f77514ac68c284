# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Tests of :class:`LabelContrastiveLoss` against a loop-per-anchor reference of MulCon's
label-level SupCon loss (Dao et al., arXiv 2107.11626)."""
import math

import pytest
import torch
import torch.nn.functional as F

from mlcl_plugin.models.losses.label_contrastive_loss import LabelContrastiveLoss


def reference_loss(embeddings, labels, temperature, base_temperature=None):
    """Straight from the definition: gather the present entries, then loop over anchors."""
    num_views, num_classes, _ = embeddings.shape
    feats, classes = [], []
    for n in range(num_views):
        for c in range(num_classes):
            if labels[n, c] > 0:
                feats.append(embeddings[n, c])
                classes.append(c)
    zero = embeddings.sum() * 0
    if not feats:
        return zero
    total = zero
    for a in range(len(feats)):
        others = [b for b in range(len(feats)) if b != a]
        positives = [b for b in others if classes[b] == classes[a]]
        if not positives:
            continue
        scores = {b: feats[a] @ feats[b] / temperature for b in others}
        lse = torch.logsumexp(torch.stack([scores[b] for b in others]), dim=0)
        total = total - sum(scores[b] - lse for b in positives) / len(positives)
    scale = 1.0 if base_temperature is None else temperature / base_temperature
    return scale * total / len(feats)


def _in_batch_args(embeddings, labels):
    """The unified call's arguments for MulCon's in-batch contrast (queries are the keys)."""
    return embeddings, embeddings, labels, labels, torch.arange(embeddings.shape[0])


def make_batch(seed, num_images=5, num_classes=6, dim=8, dtype=torch.float32):
    """Two views per image (all first views, then all second views), same labels."""
    gen = torch.Generator().manual_seed(seed)
    labels = (torch.rand(num_images, num_classes, generator=gen) < 0.4).long()
    labels[0] = 0  # an image without labels
    labels[:, -1] = 0
    labels[1, -1] = 1  # class present in one image only: positive only via the other view
    labels = torch.cat([labels, labels])  # N = 2 * num_images
    emb = torch.randn(2 * num_images, num_classes, dim, generator=gen, dtype=dtype)
    return F.normalize(emb, dim=-1).requires_grad_(), labels


@pytest.mark.parametrize('seed', range(5))
@pytest.mark.parametrize('base_temperature', [None, 0.07])
def test_matches_loop_reference(seed, base_temperature):
    emb, labels = make_batch(seed)
    loss_fn = LabelContrastiveLoss(0.2, base_temperature)
    loss = loss_fn.in_batch(emb, labels)
    (grad,) = torch.autograd.grad(loss, emb)
    emb64 = emb.detach().double().requires_grad_()
    ref = reference_loss(emb64, labels, 0.2, base_temperature)
    (ref_grad,) = torch.autograd.grad(ref, emb64)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss.double(), ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grad.double(), ref_grad, rtol=1e-5, atol=1e-5)
    # Absent-label embeddings are never used.
    assert (grad[labels == 0] == 0).all()


@pytest.mark.parametrize('seed', range(3))
def test_matches_reference_with_lonely_anchor(seed):
    # Single views (no duplication): an entry whose class appears nowhere else has no positive
    # but counts in M.
    gen = torch.Generator().manual_seed(100 + seed)
    labels = (torch.rand(6, 5, generator=gen) < 0.5).bool()
    labels[:, 0] = False
    labels[2, 0] = True  # lonely anchor
    emb = F.normalize(torch.randn(6, 5, 4, generator=gen, dtype=torch.float64), dim=-1)
    emb.requires_grad_()
    loss = LabelContrastiveLoss(0.5).in_batch(emb, labels)
    ref = reference_loss(emb, labels, 0.5)
    torch.testing.assert_close(loss, ref, rtol=1e-10, atol=1e-10)
    grad, ref_grad = (torch.autograd.grad(x, emb)[0] for x in (loss, ref))
    torch.testing.assert_close(grad, ref_grad, rtol=1e-10, atol=1e-10)
    total, count = LabelContrastiveLoss(0.5).loss_terms(*_in_batch_args(emb, labels))
    assert count == labels.sum()


def test_two_entries_same_class_is_zero():
    # Two entries of one class: A(a) = P(a) = {b}, so l_a = -(s_ab - log exp(s_ab)) = 0.
    emb = F.normalize(torch.randn(2, 3, 4, dtype=torch.float64), dim=-1).requires_grad_()
    labels = torch.tensor([[0, 1, 0], [0, 1, 0]])
    loss = LabelContrastiveLoss(0.2).in_batch(emb, labels)
    assert abs(loss.item()) < 1e-12
    loss.backward()
    assert torch.isfinite(emb.grad).all()


def test_three_entries_analytic():
    # Entries: a = (0, class 0), b = (1, class 0), c = (0, class 1), all in 2-D.
    tau = 0.5
    za = torch.tensor([1.0, 0.0])
    zb = torch.tensor([0.6, 0.8])
    zc = torch.tensor([0.0, 1.0])
    emb = torch.zeros(2, 2, 2)
    emb[0, 0], emb[1, 0], emb[0, 1] = za, zb, zc
    emb[1, 1] = torch.tensor([-1.0, 0.0])  # absent, must be ignored
    labels = torch.tensor([[1, 1], [1, 0]])
    s_ab, s_ac, s_bc = 0.6 / tau, 0.0 / tau, 0.8 / tau
    l_a = -(s_ab - math.log(math.exp(s_ab) + math.exp(s_ac)))
    l_b = -(s_ab - math.log(math.exp(s_ab) + math.exp(s_bc)))
    expected = (l_a + l_b + 0.0) / 3  # c has no positive but counts
    loss = LabelContrastiveLoss(tau).in_batch(emb, labels)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # base_temperature rescales by tau / base.
    scaled = LabelContrastiveLoss(tau, base_temperature=0.1).in_batch(emb, labels)
    assert scaled.item() == pytest.approx(expected * tau / 0.1, rel=1e-6)
    # base_temperature equal to temperature = no rescaling.
    assert LabelContrastiveLoss(tau, tau).in_batch(emb, labels).item() == pytest.approx(expected)


@pytest.mark.parametrize('case', ['no_labels', 'no_positives'])
def test_degenerate_batches_give_zero_with_grad(case):
    emb = F.normalize(torch.randn(4, 3, 5), dim=-1).requires_grad_()
    labels = torch.zeros(4, 3, dtype=torch.bool)
    if case == 'no_positives':
        labels[0, 0] = labels[1, 1] = labels[2, 2] = True
    loss = LabelContrastiveLoss().in_batch(emb, labels)
    assert loss.requires_grad
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(emb.grad, torch.zeros_like(emb))
    total, count = LabelContrastiveLoss().loss_terms(*_in_batch_args(emb.detach(), labels))
    assert count.item() == labels.sum().item()


def test_loss_terms_consistency():
    emb, labels = make_batch(7)
    loss_fn = LabelContrastiveLoss(0.2, 0.1)
    total, count = loss_fn.loss_terms(*_in_batch_args(emb, labels))
    assert not count.requires_grad
    assert count.item() == labels.sum().item()
    torch.testing.assert_close(loss_fn.in_batch(emb, labels), total / count)
    # The temperature rescaling is already in the sum.
    unscaled, count2 = LabelContrastiveLoss(0.2).loss_terms(*_in_batch_args(emb, labels))
    assert count2 == count
    torch.testing.assert_close(total, unscaled * 2)


def test_label_dtypes_agree():
    emb, labels = make_batch(3)
    loss_fn = LabelContrastiveLoss()
    ref = loss_fn.in_batch(emb, labels)
    for lab in (labels.bool(), labels.float(), labels.to(torch.uint8)):
        torch.testing.assert_close(loss_fn.in_batch(emb, lab), ref)


def test_bf16_autocast():
    emb, labels = make_batch(11, num_images=8, num_classes=10, dim=16)
    loss_fn = LabelContrastiveLoss(0.2)
    fp32 = loss_fn.in_batch(emb, labels)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        same = loss_fn.in_batch(emb, labels)
        low = loss_fn.in_batch(emb.bfloat16(), labels)
    assert same.dtype == low.dtype == torch.float32
    torch.testing.assert_close(same, fp32)
    assert torch.isfinite(low)
    torch.testing.assert_close(low, fp32, rtol=2e-2, atol=2e-2)
    low.backward()
    assert torch.isfinite(emb.grad).all()


def test_fp16_inputs_finite():
    emb, labels = make_batch(12)
    loss = LabelContrastiveLoss(0.05).in_batch(emb.half(), labels)
    assert loss.dtype == torch.float32
    assert torch.isfinite(loss)


def test_gradcheck_double():
    emb, labels = make_batch(5, num_images=3, num_classes=4, dim=3, dtype=torch.float64)
    loss_fn = LabelContrastiveLoss(0.3, 0.2)
    assert torch.autograd.gradcheck(lambda e: loss_fn.in_batch(e, labels),
                                    (emb.detach().requires_grad_(), ))


def test_meta_tensors_no_data_dependent_ops():
    # Meta tensors have no data: any host sync (.item(), nonzero, boolean-mask indexing)
    # raises, so this checks the forward/backward is sync-free.
    emb = torch.empty(6, 5, 4, device='meta', requires_grad=True)
    labels = torch.empty(6, 5, device='meta')
    loss = LabelContrastiveLoss().in_batch(emb, labels)
    assert loss.shape == ()
    loss.backward()


def test_registry_and_repr():
    from mmpretrain.registry import MODELS

    import mlcl_plugin  # noqa: F401

    loss_fn = MODELS.build({'type': 'LabelContrastiveLoss', 'temperature': 0.1,
                            'base_temperature': 0.07})
    assert isinstance(loss_fn, LabelContrastiveLoss)
    assert repr(loss_fn) == 'LabelContrastiveLoss(temperature=0.1, base_temperature=0.07)'
    from mlcl_plugin.models.losses import LabelContrastiveLoss as exported
    assert exported is LabelContrastiveLoss


@pytest.mark.parametrize('kwargs', [
    {'temperature': 0}, {'temperature': -0.2}, {'temperature': '0.2'}, {'temperature': True},
    {'base_temperature': 0}, {'base_temperature': -1.0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match='must be a positive number'):
        LabelContrastiveLoss(**kwargs)


def test_bad_shapes():
    loss_fn = LabelContrastiveLoss()
    with pytest.raises(ValueError, match=r'3-D.*\(4, 8\)'):
        loss_fn.in_batch(torch.randn(4, 8), torch.ones(4, 8))
    with pytest.raises(ValueError, match=r'labels \(4, 3\) and query \(4, 5, 8\)'):
        loss_fn.in_batch(torch.randn(4, 5, 8), torch.ones(4, 3))
    with pytest.raises(ValueError, match=r'labels \(20,\) and query \(4, 5, 8\)'):
        loss_fn.in_batch(torch.randn(4, 5, 8), torch.ones(20))
    q, k = torch.randn(4, 5, 8), torch.randn(6, 5, 8)
    with pytest.raises(ValueError, match=r'key_labels must match .* keys \(6, 5, 8\)'):
        loss_fn(q, k, torch.ones(4, 5), torch.ones(4, 5))
    with pytest.raises(ValueError, match='same number of labels and feature dimension'):
        loss_fn(q, torch.randn(6, 4, 8), torch.ones(4, 5), torch.ones(6, 4))
    with pytest.raises(ValueError, match='self_index'):
        loss_fn(q, k, torch.ones(4, 5), torch.ones(6, 5), torch.arange(3))


def test_queries_against_other_keys_match_the_reference_rows():
    """The unified call ``loss(query, keys, query_labels, key_labels, self_index)``: the
    queries of one rank against the keys of every rank give that rank's share of the in-batch
    loss (its anchors' terms; the count is its present entries)."""
    emb, labels = make_batch(4)
    loss_fn = LabelContrastiveLoss(0.2, 0.1)
    total, count = loss_fn.loss_terms(*_in_batch_args(emb, labels))
    parts = []
    for rows in (slice(0, 4), slice(4, 10)):
        index = torch.arange(10)[rows]
        parts.append(loss_fn.loss_terms(emb[rows], emb, labels[rows], labels, index))
    torch.testing.assert_close(parts[0][0] + parts[1][0], total)
    assert parts[0][1] + parts[1][1] == count
    # without self_index no entry is excluded: a query against a copy of itself is a positive
    alone = torch.tensor([[1, 0]])
    z = F.normalize(torch.randn(1, 2, 3), dim=-1)
    assert LabelContrastiveLoss()(z, z, alone, alone).item() == pytest.approx(0.0, abs=1e-6)
    assert LabelContrastiveLoss().in_batch(z, alone).item() == 0.0  # no positive at all
