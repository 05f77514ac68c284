# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Tests of :class:`MulSupConLoss` against a loop-per-anchor, per-label reference."""
import itertools

import pytest
import torch
import torch.nn.functional as F

from mlcl_plugin.models.losses.mulsupcon_loss import MulSupConLoss

POSITIVES = ('mulsupcon', 'all', 'any', 'supcon')
WEIGHTINGS = ('none', 'per_sample')


def reference_loss(query, keys, query_labels, key_labels, temperature, positives, weighting):
    """Straight from the definitions: explicit loops over anchors, labels and keys."""
    num_anchors, num_keys = query.shape[0], keys.shape[0]

    def label_set(labels, row):
        if labels.dim() == 1:  # class index, negative = no label
            return {int(labels[row])} if int(labels[row]) >= 0 else set()
        return {j for j in range(labels.shape[1]) if labels[row, j] > 0}

    terms = []  # (anchor index, loss term)
    for i in range(num_anchors):
        scores = torch.stack([query[i] @ keys[k] / temperature for k in range(num_keys)])
        logp = scores - torch.logsumexp(scores, dim=0)
        yi = label_set(query_labels, i)
        if positives == 'mulsupcon':
            for j in sorted(yi):
                pos = [k for k in range(num_keys) if j in label_set(key_labels, k)]
                if pos:
                    terms.append((i, -sum(logp[k] for k in pos) / len(pos)))
            continue
        if not yi:
            continue
        pos = []
        for k in range(num_keys):
            yk = label_set(key_labels, k)
            if positives == 'any':
                match = len(yi & yk) > 0
            else:  # 'all', and 'supcon' (a single class: same class <=> same set)
                match = yi == yk
            if match:
                pos.append(k)
        if pos:
            terms.append((i, -sum(logp[k] for k in pos) / len(pos)))

    zero = (query.sum() + keys.sum()) * 0
    if not terms:
        return zero
    if weighting == 'none':
        return sum(t for _, t in terms) / len(terms)
    if positives == 'mulsupcon':
        total = zero
        for i in range(num_anchors):
            mine = [t for a, t in terms if a == i]
            if mine:
                total = total + sum(mine) / len(mine)
        return total / num_anchors
    return sum(t for _, t in terms) / num_anchors


def make_batch(seed, own_keys, num_anchors=6, queue=8, dim=5, classes=4, one_hot=False,
               dtype=torch.float32):
    """Random normalised query/keys with multi-hot (or one-hot) labels, some anchors unlabeled."""
    gen = torch.Generator().manual_seed(seed)
    query = F.normalize(torch.randn(num_anchors, dim, generator=gen, dtype=dtype), dim=1)

    def labels(n):
        if one_hot:
            y = F.one_hot(torch.randint(0, classes, (n, ), generator=gen), classes)
        else:
            y = (torch.rand(n, classes, generator=gen) < 0.4).long()
        # Leave some rows unlabeled.
        return y * (torch.rand(n, 1, generator=gen) > 0.25).long()

    query_labels = labels(num_anchors)
    query_labels[0] = 0  # at least one unlabeled anchor
    queue_feats = F.normalize(torch.randn(queue, dim, generator=gen, dtype=dtype), dim=1)
    queue_labels = labels(queue)
    # Copy a few anchors' label sets into the queue so that 'all' finds exact matches.
    queue_labels[:3] = query_labels[torch.randperm(num_anchors, generator=gen)[:3]]
    if own_keys:
        own = F.normalize(query + 0.3 * torch.randn(query.shape, generator=gen, dtype=dtype),
                          dim=1)
        keys = torch.cat([own, queue_feats])
        key_labels = torch.cat([query_labels, queue_labels])
    else:
        # No key carries the last class: anchors' pairs with it have no positive.
        queue_labels[:, -1] = 0
        keys, key_labels = queue_feats, queue_labels
    return query, keys, query_labels, key_labels


CASES = list(itertools.product(POSITIVES, WEIGHTINGS, (True, False), range(3)))


@pytest.mark.parametrize(('positives', 'weighting', 'own_keys', 'seed'), CASES)
def test_matches_loop_reference(positives, weighting, own_keys, seed):
    one_hot = positives == 'supcon'
    query, keys, ql, kl = make_batch(seed, own_keys, one_hot=one_hot)
    loss_fn = MulSupConLoss(temperature=0.2, positives=positives, weighting=weighting)

    q1, k1 = query.clone().requires_grad_(), keys.clone().requires_grad_()
    q2, k2 = query.clone().requires_grad_(), keys.clone().requires_grad_()
    ours = loss_fn(q1, k1, ql, kl)
    ref = reference_loss(q2, k2, ql, kl, 0.2, positives, weighting)
    assert ours.dtype == torch.float32
    assert ours.dim() == 0
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    assert ref.item() != 0  # the batches are built to have positives

    ours.backward()
    ref.backward()
    torch.testing.assert_close(q1.grad, q2.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(k1.grad, k2.grad, atol=1e-5, rtol=1e-5)

    # Bool labels give the same value.
    torch.testing.assert_close(loss_fn(query, keys, ql.bool(), kl.bool()), ours.detach())


@pytest.mark.parametrize('weighting', WEIGHTINGS)
def test_supcon_int_labels(weighting):
    query, keys, ql, kl = make_batch(3, own_keys=True, one_hot=True, classes=3)
    # Class indices with -1 for unlabeled rows.
    ql_int = torch.where(ql.sum(1) > 0, ql.argmax(1), torch.full_like(ql[:, 0], -1))
    kl_int = torch.where(kl.sum(1) > 0, kl.argmax(1), torch.full_like(kl[:, 0], -1))
    supcon = MulSupConLoss(0.1, 'supcon', weighting)
    from_int = supcon(query, keys, ql_int, kl_int)
    from_one_hot = supcon(query, keys, ql, kl)
    as_all = MulSupConLoss(0.1, 'all', weighting)(query, keys, ql, kl)
    ref = reference_loss(query, keys, ql_int, kl_int, 0.1, 'supcon', weighting)
    torch.testing.assert_close(from_int, from_one_hot)
    torch.testing.assert_close(from_int, as_all)
    torch.testing.assert_close(from_int, ref, atol=1e-5, rtol=1e-5)
    # On single-label targets MulSupCon's per-label terms coincide with SupCon's.
    if weighting == 'none':
        mulsupcon = MulSupConLoss(0.1, 'mulsupcon', weighting)(query, keys, ql, kl)
        torch.testing.assert_close(from_int, mulsupcon)


@pytest.mark.parametrize('positives', POSITIVES)
def test_gradcheck_double(positives):
    one_hot = positives == 'supcon'
    query, keys, ql, kl = make_batch(
        7, own_keys=True, num_anchors=3, queue=3, dim=4, classes=3, one_hot=one_hot,
        dtype=torch.float64)
    query.requires_grad_()
    keys.requires_grad_()
    for weighting in WEIGHTINGS:
        loss_fn = MulSupConLoss(0.5, positives, weighting)
        assert loss_fn(query, keys, ql, kl).dtype == torch.float64
        assert torch.autograd.gradcheck(lambda q, k, fn=loss_fn: fn(q, k, ql, kl),
                                        (query, keys))


@pytest.mark.parametrize('weighting', WEIGHTINGS)
def test_float32_matches_log_softmax_form_in_float64(weighting):
    # Queue-sized case at a low temperature against the paper's Eq. 4-5 in vectorised form (one
    # log_softmax and one (B x K)·(K x C) product) in float64: checks the float32 rounding of
    # the class-sum evaluation where |P_j| is in the hundreds.
    gen = torch.Generator().manual_seed(0)
    query = F.normalize(torch.randn(64, 32, generator=gen), dim=1)
    keys = F.normalize(torch.cat([query + 0.3 * torch.randn(64, 32, generator=gen),
                                  torch.randn(1984, 32, generator=gen)]), dim=1)
    key_labels = (torch.rand(2048, 20, generator=gen) < 0.15).float()
    query_labels = key_labels[:64]
    q32 = query.clone().requires_grad_()
    ours = MulSupConLoss(0.05, weighting=weighting)(q32, keys, query_labels, key_labels)
    ours.backward()

    q64 = query.double().requires_grad_()
    logp = F.log_softmax(q64 @ keys.double().t() / 0.05, dim=1)
    n = key_labels.double().sum(0)
    pair_loss = -query_labels.double() * (logp @ key_labels.double()) / n
    if weighting == 'none':
        ref = pair_loss.sum() / query_labels.sum()
    else:
        ref = (pair_loss.sum(1) / query_labels.double().sum(1).clamp_min(1)).sum() / 64
    ref.backward()
    torch.testing.assert_close(ours.double(), ref, rtol=1e-6, atol=0)
    torch.testing.assert_close(q32.grad.double(), q64.grad, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize(('positives', 'weighting'), list(itertools.product(POSITIVES,
                                                                            WEIGHTINGS)))
def test_no_positive_pair_gives_zero_with_grad(positives, weighting):
    query = F.normalize(torch.randn(4, 3), dim=1).requires_grad_()
    keys = F.normalize(torch.randn(5, 3), dim=1).requires_grad_()
    # Anchors carry only class 0, keys only class 1: no anchor has a positive.
    ql = torch.zeros(4, 2, dtype=torch.long)
    ql[:, 0] = 1
    kl = torch.zeros(5, 2, dtype=torch.long)
    kl[:, 1] = 1
    loss = MulSupConLoss(positives=positives, weighting=weighting)(query, keys, ql, kl)
    assert loss.item() == 0
    assert loss.requires_grad
    loss.backward()
    assert torch.equal(query.grad, torch.zeros_like(query))
    assert torch.equal(keys.grad, torch.zeros_like(keys))


@pytest.mark.parametrize(('positives', 'weighting'), list(itertools.product(POSITIVES,
                                                                            WEIGHTINGS)))
def test_all_unlabeled_anchors(positives, weighting):
    query = F.normalize(torch.randn(4, 3), dim=1).requires_grad_()
    keys = F.normalize(torch.randn(6, 3), dim=1)
    ql = torch.zeros(4, 3)
    kl = torch.cat([torch.zeros(4, 3), torch.eye(3)[:2]])  # unlabeled own keys + 2 labeled
    loss = MulSupConLoss(positives=positives, weighting=weighting)(query, keys, ql, kl)
    assert torch.isfinite(loss)
    assert loss.item() == 0
    loss.backward()
    assert torch.isfinite(query.grad).all()


def test_bf16_autocast():
    torch.manual_seed(0)
    query, keys, ql, kl = make_batch(11, own_keys=True, num_anchors=16, queue=32, dim=16,
                                     classes=6)
    for positives in POSITIVES:
        loss_fn = MulSupConLoss(0.1, positives)
        if positives == 'supcon':
            ql_, kl_ = ql.argmax(1), kl.argmax(1)
        else:
            ql_, kl_ = ql, kl
        fp32 = loss_fn(query, keys, ql_, kl_)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            # float32 inputs under autocast: computed exactly as without autocast.
            same = loss_fn(query, keys, ql_, kl_)
            # bf16 inputs (as an autocast encoder would produce them).
            low = loss_fn(query.bfloat16(), keys.bfloat16(), ql_, kl_)
        assert same.dtype == low.dtype == torch.float32
        assert torch.equal(same, fp32)
        assert torch.isfinite(low)
        torch.testing.assert_close(low, fp32, rtol=2e-2, atol=2e-2)


def test_meta_tensors_no_data_dependent_ops():
    # Meta tensors have no data: any host sync (.item(), nonzero, `if tensor`, boolean-mask
    # indexing) raises, so this checks the forward/backward is sync-free.
    query = torch.empty(8, 4, device='meta', requires_grad=True)
    keys = torch.empty(20, 4, device='meta', requires_grad=True)
    ql = torch.empty(8, 5, device='meta')
    kl = torch.empty(20, 5, device='meta')
    for positives, weighting in itertools.product(POSITIVES, WEIGHTINGS):
        loss = MulSupConLoss(0.1, positives, weighting)(query, keys, ql, kl)
        assert loss.shape == ()
        assert loss.dtype == torch.float32
        loss.backward()
    ql_int = torch.empty(8, dtype=torch.long, device='meta')
    kl_int = torch.empty(20, dtype=torch.long, device='meta')
    MulSupConLoss(0.1, 'supcon')(query, keys, ql_int, kl_int).backward()


def test_registry_and_repr():
    from mmpretrain.registry import MODELS

    loss_fn = MODELS.build({'type': 'MulSupConLoss', 'temperature': 0.07, 'positives': 'any',
                            'weighting': 'per_sample'})
    assert isinstance(loss_fn, MulSupConLoss)
    assert repr(loss_fn) == ("MulSupConLoss(temperature=0.07, positives='any', "
                             "weighting='per_sample')")


@pytest.mark.parametrize('kwargs', [
    {'temperature': 0}, {'temperature': -0.1}, {'temperature': '0.1'}, {'positives': 'foo'},
    {'weighting': 'bar'}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        MulSupConLoss(**kwargs)


def test_bad_argument_messages():
    with pytest.raises(ValueError, match=r"'mulsupcon', 'all', 'any', 'supcon'"):
        MulSupConLoss(positives='foo')
    with pytest.raises(ValueError, match=r"'none', 'per_sample'"):
        MulSupConLoss(weighting='bar')


def test_bad_shapes():
    loss_fn = MulSupConLoss()
    q, k = torch.randn(4, 3), torch.randn(6, 3)
    ql, kl = torch.ones(4, 2), torch.ones(6, 2)
    with pytest.raises(ValueError, match='feature dimension'):
        loss_fn(q, torch.randn(6, 5), ql, kl)
    with pytest.raises(ValueError, match='2-D'):
        loss_fn(q[0], k, ql, kl)
    with pytest.raises(ValueError, match=r'query_labels has 3 rows but query has B = 4'):
        loss_fn(q, k, ql[:3], kl)
    with pytest.raises(ValueError, match=r'key_labels has 5 rows but keys has K = 6'):
        loss_fn(q, k, ql, kl[:5])
    with pytest.raises(ValueError, match=r'\(4, 2\) and key_labels \(6, 3\)'):
        loss_fn(q, k, ql, torch.ones(6, 3))
    with pytest.raises(ValueError, match='class indices are only accepted'):
        loss_fn(q, k, torch.zeros(4, dtype=torch.long), torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match='same number of dimensions'):
        loss_fn(q, k, ql, torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match='integer class indices'):
        MulSupConLoss(positives='supcon')(q, k, torch.zeros(4), torch.zeros(6))
    with pytest.raises(ValueError, match='at least one key'):
        loss_fn(q, k[:0], ql, kl[:0])
    with pytest.raises(ValueError, match='multi-hot'):
        loss_fn(q, k, torch.ones(4, 2, 1), torch.ones(6, 2, 1))
    with pytest.raises(ValueError, match='takes no self_index'):
        loss_fn(q, k, ql, kl, torch.arange(4))


@pytest.mark.parametrize(('weighting', 'own_keys', 'seed'),
                         list(itertools.product(WEIGHTINGS, (True, False), range(3))))
def test_sparse_and_summed_key_labels_match_dense(weighting, own_keys, seed):
    # The same loss and gradients from K x C dense labels, sparse COO labels and their
    # per-class key sums (the label queue's form), checked against the loop reference.
    from mlcl_plugin.models.losses.contrastive_core import LabelSums

    query, keys, ql, kl = make_batch(seed, own_keys)
    loss_fn = MulSupConLoss(temperature=0.2, weighting=weighting)
    ref_q, ref_k = query.clone().requires_grad_(), keys.clone().requires_grad_()
    ref = reference_loss(ref_q, ref_k, ql, kl, 0.2, 'mulsupcon', weighting)
    ref.backward()

    def summed(k):  # written out: sum of the keys of each label, and the counts
        sums = torch.stack([k[kl[:, j] > 0].sum(0) for j in range(kl.shape[1])])
        return LabelSums(sums, kl.float().sum(0))

    for build in (lambda k: kl, lambda k: kl.to_sparse(), lambda k: kl.float().to_sparse(),
                  summed):
        q, k = query.clone().requires_grad_(), keys.clone().requires_grad_()
        ours = loss_fn(q, k, ql, build(k))
        torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
        ours.backward()
        torch.testing.assert_close(q.grad, ref_q.grad, atol=1e-5, rtol=1e-5)
        # the keys' gradient flows through the sums too (SimCLR-style keys with grad)
        torch.testing.assert_close(k.grad, ref_k.grad, atol=1e-5, rtol=1e-5)


def test_sparse_labels_for_anchor_dependent_positives():
    # 'all' / 'any' need every key's labels: sparse input is densified, same value
    query, keys, ql, kl = make_batch(1, own_keys=True)
    for positives in ('all', 'any'):
        loss_fn = MulSupConLoss(temperature=0.2, positives=positives)
        torch.testing.assert_close(loss_fn(query, keys, ql, kl.to_sparse()),
                                   loss_fn(query, keys, ql, kl))


def test_label_sums_bad_use():
    from mlcl_plugin.models.losses.contrastive_core import LabelSums

    query, keys, ql, kl = make_batch(0, own_keys=True)
    sums = LabelSums(kl.float().t() @ keys, kl.float().sum(0))
    with pytest.raises(ValueError, match="positives='mulsupcon'"):
        MulSupConLoss(positives='any')(query, keys, ql, sums)
    with pytest.raises(ValueError, match=r'C x D sums and \(C,\) counts'):
        MulSupConLoss()(query, keys, ql[:, :3], sums)
    with pytest.raises(ValueError, match=r'got sums \(4, 5\) and counts \(3,\)'):
        MulSupConLoss()(query, keys, ql, LabelSums(sums.sums, sums.counts[:3]))


def test_meta_tensors_label_sums_no_sync():
    # the loss on LabelSums is sync-free too (meta tensors raise on any host sync)
    from mlcl_plugin.models.losses.contrastive_core import LabelSums

    query = torch.empty(8, 4, device='meta', requires_grad=True)
    keys = torch.empty(20, 4, device='meta')
    ql = torch.empty(8, 5, device='meta')
    sums = LabelSums(torch.empty(5, 4, device='meta'), torch.empty(5, device='meta'))
    for weighting in WEIGHTINGS:
        MulSupConLoss(0.1, weighting=weighting)(query, keys, ql, sums).backward()


def _with_stored_zero(labels):
    """``labels`` as sparse COO with one explicitly stored 0 entry (no label)."""
    sparse = labels.float().to_sparse().coalesce()
    rows, cols = (labels == 0).nonzero(as_tuple=True)
    indices = torch.cat([sparse.indices(), torch.stack([rows[:1], cols[:1]])], dim=1)
    values = torch.cat([sparse.values(), torch.zeros(1)])
    return torch.sparse_coo_tensor(indices, values, labels.shape, check_invariants=True)


@pytest.mark.parametrize(('positives', 'weighting', 'seed'),
                         [(p, w, s) for p in ('mulsupcon', 'all', 'any') for w in WEIGHTINGS
                          for s in range(2)])
def test_sparse_query_labels_match_dense(positives, weighting, seed):
    # Sparse COO anchor labels (the form MultiLabelMoCo passes with the label queue's sums)
    # give the dense loss and gradient, whatever the key labels' form; a stored 0 is no label.
    from mlcl_plugin.models.losses.contrastive_core import label_sums

    query, keys, ql, kl = make_batch(seed, own_keys=True)
    loss_fn = MulSupConLoss(temperature=0.2, positives=positives, weighting=weighting)
    ref_q = query.clone().requires_grad_()
    ref = loss_fn(ref_q, keys, ql, kl)
    ref.backward()
    key_forms = [kl, kl.to_sparse()]
    if positives == 'mulsupcon':
        key_forms.append(label_sums(kl, keys))
    for sparse_ql in (ql.to_sparse(), _with_stored_zero(ql)):
        for key_labels in key_forms:
            q = query.clone().requires_grad_()
            ours = loss_fn(q, keys, sparse_ql, key_labels)
            torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-6)
            ours.backward()
            torch.testing.assert_close(q.grad, ref_q.grad, atol=1e-6, rtol=1e-6)
