# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The shared supervised-contrastive core against per-anchor loops of its two forms (SupCon's
L_out, Khosla et al. 2020, Eq. 2; the image-aware log of the summed positive probability, Chen,
arXiv 2506.23156), and the three losses reducing to one another where their positive sets
coincide (one call order, one temperature convention)."""
import pytest
import torch
import torch.nn.functional as F

from mlcl_plugin.models.losses import ImageAwareLoss, LabelContrastiveLoss, MulSupConLoss
from mlcl_plugin.models.losses.contrastive_core import (
    LabelSums,
    label_logit_terms,
    label_set_terms,
    label_sums,
    log_sum_exp,
    logits_key_major,
    supcon_terms,
)


def _loop_terms(logits, positives, candidates, form):
    """One anchor at a time, from the definitions (loops on purpose)."""
    out = []
    for a in range(logits.shape[0]):
        cand = [b for b in range(logits.shape[1]) if candidates is None or candidates[a, b]]
        pos = [b for b in cand if positives[a, b]]
        if not pos:
            out.append(logits.new_zeros(()))
            continue
        log_den = torch.logsumexp(logits[a, cand], dim=0)
        if form == 'mean':
            out.append(-sum(logits[a, b] - log_den for b in pos) / len(pos))
        else:
            out.append(-(torch.logsumexp(logits[a, pos], dim=0) - log_den) / len(pos))
    return torch.stack(out)


@pytest.mark.parametrize('form', ['mean', 'log_sum'])
@pytest.mark.parametrize('with_candidates', [False, True])
def test_terms_match_the_loops(form, with_candidates):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 9, generator=g, dtype=torch.float64).requires_grad_()
    candidates = torch.rand(6, 9, generator=g) < 0.7 if with_candidates else None
    positives = torch.rand(6, 9, generator=g) < 0.3
    positives[2] = False  # an anchor without positive
    if candidates is not None:
        positives &= candidates
    terms, has_pos = supcon_terms(logits, positives, candidates, form)
    ref = _loop_terms(logits, positives, candidates, form)
    torch.testing.assert_close(terms, ref)
    assert has_pos.tolist() == (positives.sum(1) > 0).tolist()
    grad, = torch.autograd.grad(terms.sum(), logits)
    ref_grad, = torch.autograd.grad(ref.sum(), logits)
    torch.testing.assert_close(grad, ref_grad)
    assert torch.isfinite(grad).all()
    with pytest.raises(ValueError, match='form must be one of'):
        supcon_terms(logits, positives, form='median')


@pytest.mark.parametrize('gather', [True, False])
@pytest.mark.parametrize('per_anchor_mean', [False, True])
def test_label_set_terms_equal_the_mask_form(gather, per_anchor_mean):
    """MulSupCon's terms from per-label key sums equal the B x K mask form, pair by pair."""
    g = torch.Generator().manual_seed(1)
    q = F.normalize(torch.randn(5, 4, generator=g, dtype=torch.float64), dim=1)
    k = F.normalize(torch.randn(12, 4, generator=g, dtype=torch.float64), dim=1)
    yq = (torch.rand(5, 3, generator=g) < 0.5).double()
    yq[0] = 0  # an anchor without labels
    yk = (torch.rand(12, 3, generator=g) < 0.4).double()
    yk[:, 2] = 0  # a label no key carries: its pairs are not valid
    log_prob = torch.log_softmax(q @ k.t() / 0.1, dim=1)  # B x K
    terms, weights = [], []
    for i in range(5):
        mine = [j for j in range(3) if yq[i, j] and yk[:, j].sum()]
        for j in mine:
            terms.append(-(log_prob[i] * yk[:, j]).sum() / yk[:, j].sum())
            weights.append(1 / len(mine) if per_anchor_mean else 1.0)
    expected = sum(w * t for w, t in zip(weights, terms))
    log_den = torch.logsumexp(q @ k.t() / 0.1, dim=1)
    sums = LabelSums(yk.t() @ k, yk.sum(0))
    total, count = label_set_terms(q, log_den, yq, sums, 0.1, per_anchor_mean, gather=gather)
    torch.testing.assert_close(total, expected)
    assert float(count) == (5 if per_anchor_mean else len(terms))


def _mulsupcon_loop(q, k, yq, yk, tau, per_anchor_mean):
    """MulSupCon's weighted sum of (anchor, label) terms and their number, pair by pair."""
    log_prob = torch.log_softmax(q @ k.t() / tau, dim=1)  # B x K
    total, count = q.new_zeros(()), 0
    for i in range(q.shape[0]):
        mine = [j for j in range(yq.shape[1]) if yq[i, j] and yk[:, j].sum()]
        for j in mine:
            term = -(log_prob[i] * yk[:, j]).sum() / yk[:, j].sum()
            total = total + term / (len(mine) if per_anchor_mean else 1)
        count += len(mine)
    return total, (q.shape[0] if per_anchor_mean else count)


def _sparse_with_stored_zero_and_duplicates(labels):
    """The same labels as an uncoalesced COO tensor: each entry split in two halves, plus a
    stored 0 at a place without a label (a stored 0 is no label)."""
    rows, cols = labels.nonzero(as_tuple=True)
    empty = (labels == 0).nonzero()[0]
    indices = torch.stack([torch.cat([rows, rows, empty[:1]]), torch.cat([cols, cols, empty[1:]])])
    values = torch.cat([torch.full((2 * len(rows), ), 0.5), torch.zeros(1)])
    return torch.sparse_coo_tensor(indices, values, labels.shape, check_invariants=True)


@pytest.mark.parametrize('key_form', ['dense', 'uint8', 'uint8-blocks', 'sparse', 'sparse-raw'])
@pytest.mark.parametrize('query_form', ['dense', 'sparse'])
@pytest.mark.parametrize('per_anchor_mean', [False, True])
@pytest.mark.parametrize('key_major', [True, False])
def test_label_logit_terms_equal_the_pair_loop(monkeypatch, key_form, query_form,
                                               per_anchor_mean, key_major):
    """The weights-on-logits form gives the pair loop's sum, count and the gradients of the
    queries and of the keys (in-batch use, keys with gradient), for every label encoding and
    both logit layouts (key-major K x B, anchor-major B x K)."""
    from mlcl_plugin.models.losses import contrastive_core

    if key_form == 'uint8-blocks':  # blocks of 4 rows: 12 keys in 3 casts
        monkeypatch.setattr(contrastive_core, '_SPARSE_BLOCK_ENTRIES', 4 * 3)
    g = torch.Generator().manual_seed(3)
    q = F.normalize(torch.randn(5, 4, generator=g, dtype=torch.float64), dim=1)
    k = F.normalize(torch.randn(12, 4, generator=g, dtype=torch.float64), dim=1)
    q.requires_grad_()
    k.requires_grad_()
    yq = (torch.rand(5, 3, generator=g) < 0.5).double()
    yq[0] = 0  # an anchor without labels
    yq[1] = 1
    yk = (torch.rand(12, 3, generator=g) < 0.4).double()
    yk[:, 2] = 0  # a label no key carries: its pairs are not valid
    expected, expected_count = _mulsupcon_loop(q, k, yq, yk, 0.1, per_anchor_mean)
    ref_grads = torch.autograd.grad(expected, (q, k))
    key_labels = {'dense': yk, 'uint8': yk.to(torch.uint8), 'uint8-blocks': yk.to(torch.uint8),
                  'sparse': yk.to_sparse(),
                  'sparse-raw': _sparse_with_stored_zero_and_duplicates(yk)}[key_form]
    query_labels = yq.to_sparse() if query_form == 'sparse' else yq
    logits = k @ (q / 0.1).t() if key_major else (q / 0.1) @ k.t()
    total, count = label_logit_terms(logits, query_labels, key_labels, per_anchor_mean,
                                     key_major=key_major)
    torch.testing.assert_close(total, expected)
    assert float(count) == expected_count
    for grad, ref in zip(torch.autograd.grad(total, (q, k)), ref_grads):
        torch.testing.assert_close(grad, ref)


def test_logits_layout_is_key_major_except_on_cuda():
    assert logits_key_major(torch.device('cpu'))
    assert logits_key_major('cpu')
    assert not logits_key_major(torch.device('cuda', 0))
    assert not logits_key_major('cuda')


@pytest.mark.parametrize('sparse', [False, True])
def test_mulsupcon_loss_anchor_major_logits_give_the_same_loss(monkeypatch, sparse):
    """The layout MulSupConLoss uses on CUDA (anchor-major B x K logits, weights read
    transposed), forced on CPU: the same loss and query gradient as the key-major layout, and
    label_logit_terms receives B x K logits."""
    from mlcl_plugin.models.losses import mulsupcon_loss

    seen = []
    real = mulsupcon_loss.label_logit_terms

    def spy(logits, *args, **kwargs):
        seen.append((tuple(logits.shape), kwargs.get('key_major', True)))
        return real(logits, *args, **kwargs)

    monkeypatch.setattr(mulsupcon_loss, 'label_logit_terms', spy)
    g = torch.Generator().manual_seed(5)
    yq = (torch.rand(3, 6, generator=g) < 0.5).float()
    yq[:, 0] = 1
    yk = (torch.rand(40, 6, generator=g) < 0.5).float()
    yk[:, 0] = 1
    key_labels = yk.to_sparse() if sparse else yk
    q = F.normalize(torch.randn(3, 16, generator=g, dtype=torch.float64), dim=1)
    k = F.normalize(torch.randn(40, 16, generator=g, dtype=torch.float64), dim=1)
    results = []
    for key_major in (True, False):
        monkeypatch.setattr(mulsupcon_loss, 'logits_key_major', lambda device, m=key_major: m)
        q_ = q.clone().requires_grad_()
        value = MulSupConLoss(0.2)(q_, k, yq, key_labels)
        value.backward()
        results.append((value.detach(), q_.grad))
    torch.testing.assert_close(*results)
    assert seen == [((40, 3), True), ((3, 40), False)]


@pytest.mark.parametrize('weighting', ['none', 'per_sample'])
@pytest.mark.parametrize('sparse', [False, True])
def test_mulsupcon_loss_takes_the_cheaper_label_form(monkeypatch, weighting, sparse):
    """MulSupConLoss puts the label weights on the logits where that is cheaper (B < D and
    enough stored labels: stored x (D - B) > 4 x B x K) and sums the keys per class otherwise,
    when given the sums, and for dense labels with C > D on CPU (which label_sums makes
    sparse); both forms give the same loss and gradient."""
    from mlcl_plugin.models.losses import mulsupcon_loss

    calls = []
    real = mulsupcon_loss.label_logit_terms

    def spy(*args, **kwargs):
        calls.append(args[0].shape[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(mulsupcon_loss, 'label_logit_terms', spy)
    g = torch.Generator().manual_seed(4)
    yq = (torch.rand(2, 8, generator=g) < 0.5).float()
    yq[:, 0] = 1
    loss = MulSupConLoss(0.2, weighting=weighting)
    for num_keys, density in ((30, 0.6), (30, 0.05)):
        yk = (torch.rand(num_keys, 8, generator=g) < density).float()
        yk[:, 0] = 1
        key_labels = yk.to_sparse() if sparse else yk
        # B = 2 < D = 16, C = 8 <= D: logits where the labels are many; B < D = 7 < C: logits
        # only for sparse labels; B >= D = 2: sums
        for dim in (16, 7, 2):
            q = F.normalize(torch.randn(2, dim, generator=g, dtype=torch.float64), dim=1)
            k = F.normalize(torch.randn(num_keys, dim, generator=g, dtype=torch.float64), dim=1)
            results = []
            for labels in (key_labels, label_sums(key_labels, k)):
                q_ = q.clone().requires_grad_()
                value = loss(q_, k, yq, labels)
                value.backward()
                results.append((value.detach(), q_.grad))
            torch.testing.assert_close(*results)
            stored = int((yk != 0).sum()) if sparse else yk.numel()
            wanted = stored * (dim - 2) > 4 * 2 * num_keys and dim > 2 and (sparse or dim >= 8)
            assert calls.pop() == num_keys if wanted else not calls, (num_keys, density, dim)
        assert not calls


@pytest.mark.parametrize('dim', [0, 1])
def test_log_sum_exp_equals_torch_logsumexp(dim):
    gen = torch.Generator().manual_seed(3)
    logits = (torch.randn(7, 11, generator=gen, dtype=torch.float64) * 10).requires_grad_()
    weights = torch.randn(logits.shape[1 - dim], generator=gen, dtype=torch.float64)
    ours = log_sum_exp(logits, dim)
    (ours * weights).sum().backward()
    grad, logits.grad = logits.grad, None
    ref = torch.logsumexp(logits, dim)
    (ref * weights).sum().backward()
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(grad, logits.grad, rtol=0, atol=1e-12)
    assert torch.autograd.gradcheck(lambda x: log_sum_exp(x, dim),
                                    (logits.detach().requires_grad_(), ))
    # large logits (1 / tau of cosines, and beyond) stay finite, as torch's do
    big = torch.tensor([[300.0, -300.0, 299.0]])
    torch.testing.assert_close(log_sum_exp(big, 1), torch.logsumexp(big, 1))
    assert log_sum_exp(torch.zeros(2, 0), 1).eq(float('-inf')).all()


def test_losses_agree_where_their_positive_sets_coincide():
    """Single-label keys: MulSupCon's 'all' (same label set), the image-aware 'supcon' form
    (same id, no base temperature) and the label-level loss with one class (same class) are the
    same SupCon L_out of the same logits."""
    g = torch.Generator().manual_seed(2)
    q = F.normalize(torch.randn(6, 5, generator=g, dtype=torch.float64), dim=1)
    k = F.normalize(torch.randn(10, 5, generator=g, dtype=torch.float64), dim=1)
    ids_q = torch.randint(0, 3, (6, ), generator=g)
    ids_k = torch.randint(0, 3, (10, ), generator=g)
    tau = 0.2
    mulsupcon = MulSupConLoss(tau, positives='all')(q, k, F.one_hot(ids_q, 3),
                                                    F.one_hot(ids_k, 3))
    image_aware = ImageAwareLoss(tau, None, form='supcon')(q, k, ids_q, ids_k)
    torch.testing.assert_close(mulsupcon, image_aware)
    # one class, every entry present: every key is a positive of every anchor
    ones_q, ones_k = torch.ones(6, 1), torch.ones(10, 1)
    label_level = LabelContrastiveLoss(tau)(q[:, None], k[:, None], ones_q, ones_k)
    same = ImageAwareLoss(tau, None, form='supcon')(q, k, torch.zeros(6, dtype=torch.long),
                                                    torch.zeros(10, dtype=torch.long))
    torch.testing.assert_close(label_level, same)
    # the base temperature multiplies the loss by tau / tau0 in both losses that take one
    torch.testing.assert_close(
        LabelContrastiveLoss(tau, 0.05)(q[:, None], k[:, None], ones_q, ones_k),
        label_level * tau / 0.05)
    torch.testing.assert_close(
        ImageAwareLoss(tau, 0.05, form='supcon')(q, k, torch.zeros(6, dtype=torch.long),
                                                 torch.zeros(10, dtype=torch.long)),
        same * tau / 0.05)


def test_label_counts_and_sums_of_sparse_labels_equal_the_dense_ones():
    """Sparse COO labels, coalesced or not (a repeated entry adds up, as in COO), give the
    dense labels' per-class counts and key sums."""
    from mlcl_plugin.models.losses.contrastive_core import label_counts

    gen = torch.Generator().manual_seed(0)
    labels = (torch.rand(40, 300, generator=gen) < 0.03).float()
    keys = torch.randn(40, 8, generator=gen, dtype=torch.float64)
    rows, cols = labels.nonzero(as_tuple=True)
    # the same entries split in two halves of value 0.5, left uncoalesced
    split = torch.sparse_coo_tensor(torch.stack([torch.cat([rows, rows]),
                                                 torch.cat([cols, cols])]),
                                    torch.full((2 * len(rows), ), 0.5), labels.shape,
                                    check_invariants=True)
    assert not split.is_coalesced()
    for sparse in (labels.to_sparse(), split):
        torch.testing.assert_close(label_counts(sparse), labels.sum(0))
        ours = label_sums(sparse, keys)
        torch.testing.assert_close(ours.counts, labels.double().sum(0))
        torch.testing.assert_close(ours.sums, labels.double().t() @ keys)
        assert ours.counts.dtype == keys.dtype


@pytest.mark.parametrize('block_entries', [1 << 24, 300 * 7, 300, 1])
def test_dense_label_sums_in_blocks_equal_the_product(monkeypatch, block_entries):
    """Dense labels with more classes than feature dimensions (CPU) go sparse a block of rows
    at a time: the same sums, counts and key gradient as the plain product, whatever the
    block size (one block, blocks of 7 rows with a short last one, one row per block)."""
    from mlcl_plugin.models.losses import contrastive_core

    monkeypatch.setattr(contrastive_core, '_SPARSE_BLOCK_ENTRIES', block_entries)
    gen = torch.Generator().manual_seed(1)
    labels = (torch.rand(40, 300, generator=gen) < 0.03).float()
    keys = torch.randn(40, 8, generator=gen, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(300, 8, generator=gen, dtype=torch.float64)
    ours = contrastive_core.label_sums(labels, keys)
    torch.testing.assert_close(ours.sums, labels.double().t() @ keys)
    torch.testing.assert_close(ours.counts, labels.double().sum(0))
    (ours.sums * weights).sum().backward()
    torch.testing.assert_close(keys.grad, labels.double() @ weights)
