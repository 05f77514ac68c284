# Copyright (c) mlcl_plugin authors. All rights reserved.
r"""The supervised-contrastive computation shared by the plugin's three losses.

:class:`MulSupConLoss`, :class:`ImageAwareLoss` and :class:`LabelContrastiveLoss` compute the same
thing with different positive sets. For an anchor :math:`a` (a query row, or a query entry for
label-level embeddings) and the reference keys :math:`b`,

.. math::

    s_{ab} = \frac{q_a^\top k_b}{\tau}, \qquad
    \log p_{ab} = s_{ab} - \log \sum_{b' \in A(a)} e^{s_{ab'}},

where :math:`A(a)` is the anchor's candidate set (every key unless a mask removes some, e.g. the
anchor itself in in-batch use) and :math:`P(a) \subseteq A(a)` its positives. Two per-anchor
terms are used:

* ``'mean'`` (SupCon's :math:`L_{out}`, Khosla et al., NeurIPS 2020, Eq. 2; MulSupCon, Zhang &
  Wu, AAAI-24, Eq. 4; MulCon stage 2, Dao et al., arXiv 2107.11626):
  :math:`\ell_a = -\frac{1}{|P(a)|} \sum_{b \in P(a)} \log p_{ab}`;
* ``'log_sum'`` (the image-aware loss, Chen, arXiv 2506.23156, the form its code trains with):
  :math:`\ell_a = -\frac{1}{|P(a)|} \log \sum_{b \in P(a)} p_{ab}`.

An anchor without any positive has :math:`\ell_a = 0` and no gradient; it is up to the loss
whether it counts in the mean (see each loss's ``loss_terms``).

**Temperature convention (all three losses).** ``temperature`` :math:`\tau` divides the cosine
similarities, as above. ``base_temperature`` :math:`\tau_0` is optional: when set, the loss (the
mean of the per-anchor terms) is multiplied by :math:`\tau / \tau_0`, the factor of SupCon's
code that the image-aware reference keeps (:math:`\tau = 0.3`, :math:`\tau_0 = 0.07`); ``None``
multiplies by 1. No other rescaling exists.

Numerics, shared by the losses: logits and ``logsumexp`` run in at least float32 with autocast
disabled (fp16/bf16 inputs are promoted, float64 stays float64); rows without a positive get
finite dummy logits before ``logsumexp`` so that neither their value nor their gradient can be
NaN (an all ``-inf`` row would give NaN gradients). Everything is a masked tensor operation: no
Python loop over anchors or classes, no boolean indexing with a data-dependent shape, no host
sync.
"""
import contextlib
import numbers
import warnings
from typing import NamedTuple, Optional, Tuple, Union

import torch
from torch import nn

FORMS = ('mean', 'log_sum')


def autocast_disabled(device_type: str):
    """Context that switches autocast off for ``device_type`` (no-op where autocast is absent).

    Args:
        device_type (str): ``'cpu'``, ``'cuda'``, ...

    Returns:
        contextlib.AbstractContextManager: the context.
    """
    is_available = getattr(torch.amp, 'is_autocast_available', None)
    if is_available is not None and not is_available(device_type):
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type, enabled=False)


def compute_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """The dtype the logits are computed in.

    Args:
        *tensors (Tensor): the features (queries, keys).

    Returns:
        torch.dtype: their promoted dtype, at least float32 (fp16/bf16 -> float32, float64
        stays float64, e.g. for gradcheck).
    """
    dtype = torch.float32
    for tensor in tensors:
        dtype = torch.promote_types(dtype, tensor.dtype)
    return dtype


def check_temperature(name: str, value, optional: bool = False) -> Optional[float]:
    """``value`` as a float, or raise ``ValueError`` naming ``name`` unless it is positive.

    Args:
        name (str): the argument's name, for the message.
        value (float, optional): the value to check.
        optional (bool): accept ``None`` (returned as is). Defaults to False.

    Returns:
        float | None: the checked value.
    """
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f'{name} must be a positive number, got {value!r}')
    return float(value)


def scaled_logits(query: torch.Tensor, keys: torch.Tensor, temperature: float) -> torch.Tensor:
    r"""``(query / tau) @ keys.T``, the ``B x K`` logits :math:`s_{ab}`.

    Call inside :func:`autocast_disabled` with inputs already in the compute dtype. Dividing the
    ``B x D`` queries is cheaper than dividing the ``B x K`` product.

    Args:
        query (Tensor): ``B x D`` anchors.
        keys (Tensor): ``K x D`` keys.
        temperature (float): :math:`\tau`.

    Returns:
        Tensor: ``B x K`` logits.
    """
    return (query / temperature) @ keys.t()


def supcon_terms(logits: torch.Tensor,
                 positives: torch.Tensor,
                 candidates: Optional[torch.Tensor] = None,
                 form: str = 'mean') -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Per-anchor terms :math:`\ell_a` from the logits and the masks.

    Args:
        logits (Tensor): ``B x K`` logits :math:`s_{ab}` (compute dtype).
        positives (Tensor): ``B x K`` bool, :math:`P(a)`; must lie inside ``candidates``.
        candidates (Tensor, optional): ``B x K`` bool, :math:`A(a)`. Defaults to None (every
            key).
        form (str): ``'mean'`` or ``'log_sum'`` (see the module docstring). Defaults to
            ``'mean'``.

    Returns:
        tuple[Tensor, Tensor]: ``(B,)`` terms :math:`\ell_a` (0 for anchors without a
        positive) and ``(B,)`` bool, whether the anchor has a positive.
    """
    num_pos = positives.sum(dim=1)  # B
    has_pos = num_pos > 0  # B
    if candidates is not None:
        logits = logits.masked_fill(~candidates, float('-inf'))
    # Rows without a positive are dropped below; finite dummy logits keep their logsumexp and
    # its gradient free of NaN (an all -inf row would give NaN).
    logits = torch.where(has_pos[:, None], logits, torch.zeros_like(logits))
    log_den = torch.logsumexp(logits, dim=1)  # B
    if form == 'mean':
        log_prob = logits - log_den[:, None]  # B x K
        # `where`, not a product: masked-out candidates hold -inf, and -inf * 0 is NaN
        pos_log_prob = torch.where(positives, log_prob, torch.zeros_like(log_prob)).sum(dim=1)
    elif form == 'log_sum':
        pos_logits = logits.masked_fill(~positives, float('-inf'))
        pos_logits = torch.where(has_pos[:, None], pos_logits, torch.zeros_like(pos_logits))
        pos_log_prob = torch.logsumexp(pos_logits, dim=1) - log_den  # B
    else:
        raise ValueError(f'form must be one of {FORMS}, got {form!r}')
    terms = -pos_log_prob / num_pos.clamp_min(1).to(logits.dtype)
    return torch.where(has_pos, terms, torch.zeros_like(terms)), has_pos


class LabelSums(NamedTuple):
    r"""Per-class sums of labelled keys: all that MulSupCon's per-label positive sets need.

    For keys :math:`k_1 \dots k_K` with multi-hot labels :math:`\tilde Y` (``K x C``), the
    positive set of label j is :math:`P_j = \{k : \tilde y_{kj} = 1\}` whatever the anchor, so
    the loss only needs :math:`m_j = \sum_{k \in P_j} k_k` and :math:`n_j = |P_j|`. Passing
    these instead of the ``K x C`` labels lets a caller that maintains them (the label queue,
    :class:`~mlcl_plugin.models.utils.LabelMemoryBank`) skip every ``K x C`` pass.

    Attributes:
        sums (Tensor): ``C x D`` sums :math:`m_j` (may carry a gradient to the keys).
        counts (Tensor): ``(C,)`` counts :math:`n_j` (float).
    """

    sums: torch.Tensor
    counts: torch.Tensor


KeyLabels = Union[torch.Tensor, LabelSums]


# dense labels converted to sparse per block of this many entries (rows x C)
_SPARSE_BLOCK_ENTRIES = 1 << 24


def label_sums(labels: torch.Tensor, keys: torch.Tensor,
               dtype: Optional[torch.dtype] = None) -> LabelSums:
    r"""Per-class key sums :math:`M = \tilde Y^\top K` and counts of 0/1 labels.

    Dense labels use one ``C x K x D`` product (the fastest form while ``C`` is small next to
    ``D``; on CPU, with ``C > D``, they are made sparse first, a block of rows at a time so that
    the sparse copy stays small). Sparse labels
    (``torch.sparse_coo`` ``K x C``, e.g. a large, sparse taxonomy) use a sparse product, so
    the cost follows the number of stored labels, not ``K x C``. Values are
    used as given (0/1 expected, not validated: that would need a host sync).

    Args:
        labels (Tensor): ``K x C`` multi-hot labels, dense (any dtype) or sparse COO.
        keys (Tensor): ``K x D`` keys.
        dtype (torch.dtype, optional): dtype of the result. Defaults to the dtype of ``keys``.

    Returns:
        LabelSums: ``C x D`` sums and ``(C,)`` counts.
    """
    dtype = dtype or keys.dtype
    keys = keys.to(dtype)
    if not labels.is_sparse and labels.device.type == 'cpu' and labels.shape[1] > keys.shape[1]:
        # On CPU, with more classes than feature dimensions, one pass to find the stored
        # labels and a sparse product beat the C x K x D product (no host sync to avoid here).
        # Blocks of rows keep the sparse copy (about 40 bytes per label with its transpose)
        # small next to the B x K logits of a large queue; a short queue takes one block,
        # since each block's C x D partial sum costs memory too.
        rows = max(1, _SPARSE_BLOCK_ENTRIES // labels.shape[1])
        if labels.shape[0] <= 2 * rows:
            labels = labels.to_sparse()
        else:
            sums = keys.new_zeros(labels.shape[1], keys.shape[1])
            counts = keys.new_zeros(labels.shape[1])
            for start in range(0, labels.shape[0], rows):
                block = label_sums(labels[start:start + rows].to_sparse(),
                                   keys[start:start + rows], dtype)
                sums.add_(block.sums)  # in place, recorded by autograd: keeps the keys' gradient
                counts.add_(block.counts)
            return LabelSums(sums, counts)
    if labels.is_sparse:
        labels_t = labels.t().to(dtype)  # C x K, still sparse
        return LabelSums(torch.sparse.mm(labels_t, keys), _sparse_column_sums(labels, dtype))
    labels = labels.to(dtype)  # a no-op when the labels already have the compute dtype
    return LabelSums(labels.t() @ keys, labels.sum(dim=0))


def _sparse_column_sums(labels: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``(C,)`` column sums of sparse COO ``K x C`` labels, one pass over the stored entries.

    ``torch.sparse.sum(labels, dim=0)`` gives the same values but builds a sparse result
    through a sort of the entries, which costs more than the rest of the loss at thousands of
    classes; an ``index_add`` over the column indices does not.
    """
    labels = labels.coalesce()
    cols = labels.indices()[1]
    return torch.zeros(labels.shape[1], dtype=dtype, device=labels.device).index_add_(
        0, cols, labels.values().to(dtype))


def label_set_terms(query: torch.Tensor, log_den: torch.Tensor, query_labels: torch.Tensor,
                    sums: LabelSums, temperature: float, per_anchor_mean: bool = False,
                    gather: Optional[bool] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Sum and count of the ``'mean'`` terms when each label's positive set is the same for
    every anchor (MulSupCon, Zhang & Wu, AAAI-24, Eq. 4-6).

    Anchor i has one term per label j it carries, with positives :math:`P_j` (the keys carrying
    j, :math:`n_j = |P_j|`, :math:`m_j = \sum_{b \in P_j} k_b`). Since
    :math:`\sum_{b \in P_j} \log p_{ib} = q_i^\top m_j / \tau - n_j\,\mathrm{lse}_i`, the sum of
    the terms of the valid pairs (:math:`y_{ij} = 1`, :math:`n_j > 0`) with weights
    :math:`w_{ij}` is

    .. math:: \sum_{ij} w_{ij} y_{ij} \Big(\mathrm{lse}_i - \frac{q_i^\top m_j}{\tau n_j}\Big)
              = \sum_i a_i \mathrm{lse}_i - \frac{1}{\tau} \sum_i q_i^\top (W M)_i,

    with :math:`W_{ij} = w_{ij} y_{ij} / n_j` and :math:`a_i = \sum_j w_{ij} y_{ij}`; the weight
    is 1 (the mean over pairs) or :math:`1 / |y_i|` (``per_anchor_mean``, Eq. 6). Only
    :math:`W M` (``B x D``) touches the label sums: with sparse labels, and on CPU, it gathers
    the sums of the anchors' labels (the cost follows the labels present, not ``B x C x D``);
    dense labels elsewhere take a dense product, which avoids the host sync of ``nonzero``.

    Args:
        query (Tensor): ``B x D`` anchors (compute dtype).
        log_den (Tensor): ``(B,)`` :math:`\mathrm{lse}_i = \log \sum_b e^{s_{ib}}` over all keys.
        query_labels (Tensor): ``B x C`` 0/1 labels of the anchors, dense or sparse COO.
        sums (LabelSums): the keys' per-label sums (``C x D``, any float dtype: only the rows
            used are cast) and counts (``(C,)``, compute dtype).
        temperature (float): :math:`\tau`.
        per_anchor_mean (bool): weight each anchor's terms by :math:`1 / |y_i|` (its valid
            pairs) and count every anchor. Defaults to False: count the valid pairs.

    Returns:
        tuple[Tensor, Tensor]: scalar sum of the terms (with gradient) and scalar count.
    """
    dtype = query.dtype
    class_sums, counts = sums
    num_anchors = query.shape[0]
    if gather is None:
        gather = query.device.type == 'cpu'
    if query_labels.is_sparse or gather:
        has_pos, inv_n = _inverse_counts(counts)  # C, C
        # Work on the anchors' labels only: sparse labels list them already (no pass over
        # B x C, no host sync on any device); on CPU one nonzero finds them (no sync to avoid).
        if query_labels.is_sparse:
            query_labels = query_labels.coalesce()
            rows, cols = query_labels.indices()
            entry = query_labels.values().to(dtype)  # 1 (a stored 0 contributes nothing)
        else:
            rows, cols = query_labels.nonzero(as_tuple=True)  # one pass over B x C
            entry = None
        # index_select, not x[idx]: the advanced-indexing kernel is several times slower for
        # these row gathers on CPU
        valid = has_pos.index_select(0, cols).to(dtype)  # per (anchor, label) entry
        weight = inv_n.index_select(0, cols)
        if entry is not None:
            valid, weight = valid * entry, weight * entry
        pairs = query.new_zeros(num_anchors).index_add_(0, rows, valid)  # B: valid pairs
        if per_anchor_mean:
            weight = weight / pairs.clamp_min(1).index_select(0, rows)
        pulled = query.new_zeros(query.shape).index_add(
            0, rows, class_sums.index_select(0, cols).to(dtype) * weight[:, None])  # B x D
    else:
        weights, pairs = _pair_weights(query_labels, counts, per_anchor_mean, dtype)  # C x B, B
        pulled = weights.t() @ class_sums.to(dtype)  # B x D
    lse_total, count = _lse_total(log_den, pairs, per_anchor_mean)
    return lse_total - (query * pulled).sum() / temperature, count


def logits_key_major(device: torch.device) -> bool:
    """Whether :func:`label_logit_terms` should take key-major (``K x B``) logits on ``device``.

    Key-major everywhere but on CUDA, where the softmax over a non-last dimension is a strided
    kernel (see :func:`label_logit_terms`, ``key_major``).
    """
    return torch.device(device).type != 'cuda'


def label_logit_terms(key_logits: torch.Tensor, query_labels: torch.Tensor,
                      key_labels: torch.Tensor,
                      per_anchor_mean: bool = False,
                      key_major: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""The sum and count of :func:`label_set_terms`, written on the logits and the key labels.

    With :math:`W` as there (``B x C``) and :math:`M = \tilde Y^\top K`,
    :math:`\sum_i q_i^\top (W M)_i / \tau = \sum_{ib} s_{ib} (W \tilde Y^\top)_{ib}`, so the
    label part is one weight per (anchor, key), :math:`G = W \tilde Y^\top`, against the logits
    :math:`s` that the ``logsumexp`` needs anyway. The product costs B per stored key label
    (sparse labels: their rows are in order, so the CSR form needs no sort) or ``B x K x C``
    (dense labels), against D per stored label for the class sums :math:`M`; and the keys'
    gradient, when they have one, flows through the logits alone. Everything is kept key-major
    (``K x B``): the product writes :math:`G^\top` row by row, and the passes over it and the
    logits then run over contiguous memory.

    Args:
        key_logits (Tensor): ``K x B`` logits, :math:`s^\top` (compute dtype): ``keys @
            (query / tau).T``; ``B x K`` (:math:`s`) when ``key_major`` is False.
        query_labels (Tensor): ``B x C`` 0/1 labels of the anchors, dense or sparse COO.
        key_labels (Tensor): ``K x C`` 0/1 labels of the keys, dense or sparse COO (a stored 0
            is no label).
        per_anchor_mean (bool): as in :func:`label_set_terms`. Defaults to False.
        key_major (bool): the layout of ``key_logits``. Key-major suits the CPU (the passes
            run over contiguous rows of B); on CUDA the softmax over a non-last dimension is a
            strided kernel several times slower than the row softmax, so anchor-major
            (``B x K``) logits with the weights read transposed are faster there. Same value
            either way. Defaults to True.

    Returns:
        tuple[Tensor, Tensor]: scalar sum of the terms (with gradient) and scalar count.
    """
    dtype = key_logits.dtype
    counts = label_counts(key_labels).to(dtype)  # C
    weights, pairs = _pair_weights(query_labels, counts, per_anchor_mean, dtype)  # C x B, B
    if key_labels.is_sparse:
        key_weights = _sparse_rows_mm(key_labels, weights)  # K x B
    else:
        key_weights = _dense_rows_mm(key_labels, weights)
    # Each anchor's weights sum to its lse weight (sum_k G_ik = sum_j W_ij n_j = a_i), so the
    # sum is a cross-entropy against the soft targets G: -sum_ik G_ik log p_ik. One fused
    # log_softmax (and its backward) replaces logsumexp's separate passes and the weighted sum
    # of the logits.
    if key_major:
        total = -(torch.log_softmax(key_logits, dim=0) * key_weights).sum()
    else:
        total = -(torch.log_softmax(key_logits, dim=1) * key_weights.t()).sum()
    return total, _term_count(pairs, per_anchor_mean)


def _pair_weights(query_labels: torch.Tensor, counts: torch.Tensor, per_anchor_mean: bool,
                  dtype: torch.dtype) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""``C x B`` weights :math:`W^\top`, :math:`W_{ij} = w_{ij} y_{ij} / n_j`, and ``(B,)``
    valid pairs.

    Class-major (``C x B``, contiguous) because both products take :math:`W^\top`: the label
    product by rows of ``C`` and the class sums' ``W M`` as a transposed operand. It is written
    in one pass over the ``B x C`` labels (:math:`1 / n_j` is 0 for labels without a key, so
    no separate validity mask is applied).
    """
    if query_labels.is_sparse:
        query_labels = query_labels.to_dense()  # B x C: small next to the B x K logits
    has_pos, inv_n = _inverse_counts(counts)  # C, C
    labels = query_labels.to(dtype)  # no copy for labels already in the compute dtype
    pairs = labels @ has_pos.to(dtype)  # B
    weights = torch.mul(labels.t(), inv_n[:, None],
                        out=labels.new_empty(labels.shape[1], labels.shape[0]))  # C x B
    if per_anchor_mean:
        weights.div_(pairs.clamp_min(1))
    return weights, pairs


def _inverse_counts(counts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(C,)`` whether each label has a positive, and :math:`1 / n_j` (0 where it has none)."""
    has_pos = counts > 0
    return has_pos, torch.where(has_pos, 1 / counts.clamp_min(1), torch.zeros_like(counts))


def _lse_total(log_den: torch.Tensor, pairs: torch.Tensor,
               per_anchor_mean: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""The ``lse`` part of the sum, :math:`\sum_i a_i \mathrm{lse}_i`, and the count."""
    if per_anchor_mean:
        lse_weight = (pairs > 0).to(log_den.dtype)
    else:
        lse_weight = pairs
    return (log_den * lse_weight).sum(), _term_count(pairs, per_anchor_mean)


def _term_count(pairs: torch.Tensor, per_anchor_mean: bool) -> torch.Tensor:
    """Number of terms: every anchor (``per_anchor_mean``) or the valid pairs."""
    if per_anchor_mean:
        return pairs.new_tensor(float(pairs.shape[0]))
    return pairs.sum().detach()


class _LogSumExp(torch.autograd.Function):
    """``logsumexp`` over ``dim`` from one fused ``log_softmax`` (see :func:`log_sum_exp`)."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, dim: int) -> torch.Tensor:
        log_prob = torch.log_softmax(logits, dim=dim)
        ctx.dim = dim
        ctx.save_for_backward(log_prob)
        # lse = s_0 - log p_0 for any entry; the first is exact enough (|s| <= 1 / tau)
        return logits.select(dim, 0) - log_prob.select(dim, 0)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        (log_prob, ) = ctx.saved_tensors
        return torch.exp(log_prob).mul_(grad.unsqueeze(ctx.dim)), None


def log_sum_exp(logits: torch.Tensor, dim: int) -> torch.Tensor:
    r"""``torch.logsumexp(logits, dim)`` with a cheaper forward and backward.

    torch's ``logsumexp`` takes separate passes for the maximum, the shifted exponentials and
    their sum, and its backward recomputes the exponentials from the inputs; one fused
    ``log_softmax`` gives the value, and its output, kept for the backward, gives the softmax
    with one ``exp``. The value equals ``logsumexp`` up to rounding; no double backward.

    Args:
        logits (Tensor): finite logits, e.g. ``B x K`` (the value is read off the first entry
            along ``dim``, so a masked ``-inf`` there would give NaN).
        dim (int): the dimension to reduce.

    Returns:
        Tensor: the logits' ``logsumexp`` over ``dim`` (that dimension removed).
    """
    if logits.shape[dim] == 0:
        return torch.logsumexp(logits, dim=dim)  # -inf, as torch gives
    return _LogSumExp.apply(logits, dim)


def _sparse_rows_mm(labels: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``labels @ dense`` for sparse COO ``K x C`` labels and a dense ``C x N`` matrix.

    A coalesced COO tensor lists its entries row by row, which is already the CSR order:
    the row pointers follow from the row indices (no sort, no host sync), and the CSR
    product is several times faster than the COO one on CPU.
    """
    labels = labels.coalesce()
    rows, cols = labels.indices()
    crow = _row_pointers(rows, labels.shape[0])
    return _csr_tensor(crow, cols, labels.values().to(dense.dtype), labels.shape) @ dense


def _row_pointers(rows: torch.Tensor, num_rows: int) -> torch.Tensor:
    """``(num_rows + 1,)`` CSR row pointers of sorted row indices."""
    convert = getattr(torch, '_convert_indices_from_coo_to_csr', None)
    if convert is not None:  # the kernel of torch's own COO -> CSR conversion: one pass
        return convert(rows, num_rows)
    bounds = torch.arange(num_rows + 1, device=rows.device, dtype=rows.dtype)
    return torch.searchsorted(rows, bounds)


# torch prints a notice that CSR support is in beta with the first CSR tensor of a process; the
# CSR form is an internal detail of the loss, so the notice would only puzzle its users
_CSR_BETA_NOTICE = 'Sparse CSR tensor support is in beta state'
_csr_notice_silenced = False


def _csr_tensor(crow: torch.Tensor, cols: torch.Tensor, values: torch.Tensor,
                size: torch.Size) -> torch.Tensor:
    """A CSR tensor from trusted parts (no invariant check), without torch's beta notice."""
    global _csr_notice_silenced
    if _csr_notice_silenced:  # torch gives the notice once per process
        return torch.sparse_csr_tensor(crow, cols, values, size=size, check_invariants=False)
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message=_CSR_BETA_NOTICE)
        csr = torch.sparse_csr_tensor(crow, cols, values, size=size, check_invariants=False)
    _csr_notice_silenced = True
    return csr


def _dense_rows_mm(labels: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``labels @ dense`` for dense ``K x C`` labels of any dtype and a dense ``C x N`` matrix.

    Labels of another dtype are cast a block of rows at a time, so that their float copy stays
    small next to the ``B x K`` logits of a long queue.
    """
    if labels.dtype == dense.dtype:
        return labels @ dense
    rows = max(1, _SPARSE_BLOCK_ENTRIES // max(1, labels.shape[1]))
    return torch.cat([labels[start:start + rows].to(dense.dtype) @ dense
                      for start in range(0, labels.shape[0], rows)])


def label_counts(labels: KeyLabels) -> torch.Tensor:
    """``(C,)`` number of keys carrying each label, from dense, sparse or summed labels.

    Args:
        labels (Tensor | LabelSums): ``K x C`` labels (dense or sparse COO) or their sums.

    Returns:
        Tensor: ``(C,)`` float counts.
    """
    if isinstance(labels, LabelSums):
        return labels.counts.float()
    if labels.is_sparse:
        return _sparse_column_sums(labels, torch.float32)
    # 0/1 labels: a typed sum, no K x C bool or float copy
    return labels.sum(dim=0, dtype=torch.float32)


def check_features(query: torch.Tensor, keys: torch.Tensor, dims: int = 2) -> None:
    """Shape checks of anchors and keys (Python-level, no host sync).

    Args:
        query (Tensor): anchors, ``B x ... x D`` with ``dims`` dimensions.
        keys (Tensor): keys, ``K x ... x D``, the same shape after the first dimension.
        dims (int): expected number of dimensions. Defaults to 2.

    Raises:
        ValueError: wrong number of dimensions, no key, or other feature shapes.
    """
    shape = 'B x D and K x D' if dims == 2 else 'B x L x D and K x L x D'
    if query.dim() != dims or keys.dim() != dims:
        raise ValueError(f'query and keys must be {dims}-D ({shape}), got shapes '
                         f'{tuple(query.shape)} and {tuple(keys.shape)}')
    if keys.shape[0] == 0:
        raise ValueError(f'keys must hold at least one key, got {tuple(keys.shape)}')
    if query.shape[1:] != keys.shape[1:]:
        what = 'feature dimension' if dims == 2 else 'number of labels and feature dimension'
        raise ValueError(f'query and keys must have the same {what}, got query '
                         f'{tuple(query.shape)} and keys {tuple(keys.shape)}')


def check_self_index(self_index: Optional[torch.Tensor], num_queries: int) -> None:
    """Shape and dtype check of ``self_index`` (Python-level, no host sync).

    Args:
        self_index (Tensor, optional): ``(B,)`` integer rows, or None.
        num_queries (int): ``B``.

    Raises:
        ValueError: not a 1-D integer tensor with one entry per query row.
    """
    if self_index is None:
        return
    if (not isinstance(self_index, torch.Tensor) or self_index.dim() != 1
            or self_index.shape[0] != num_queries):
        raise ValueError('self_index must be a 1-D tensor with one entry per query row '
                         f'({num_queries}), got '
                         f'{getattr(self_index, "shape", type(self_index).__name__)}')
    if self_index.is_floating_point() or self_index.dtype == torch.bool:
        raise ValueError(f'self_index must hold integer indices, got dtype {self_index.dtype}')


class ContrastiveLoss(nn.Module):
    r"""Base of the plugin's contrastive losses: one call, one temperature convention.

    Every loss is called as ``loss(query, keys, query_labels, key_labels, self_index=None)``
    and returns a scalar; subclasses build the masks and call :func:`supcon_terms` (or
    :func:`label_set_terms`) in :meth:`loss_terms`. A plain :class:`torch.nn.Module`,
    usable without mmengine (the registration of the subclasses only lets configs build them).

    Args:
        temperature (float): :math:`\tau`, divides the cosine similarities.
        base_temperature (float, optional): :math:`\tau_0`; the loss is multiplied by
            :math:`\tau / \tau_0`. None multiplies by 1. Defaults to None.
    """

    def __init__(self, temperature: float, base_temperature: Optional[float] = None) -> None:
        super().__init__()
        self.temperature = check_temperature('temperature', temperature)
        self.base_temperature = check_temperature('base_temperature', base_temperature,
                                                  optional=True)

    @property
    def scale(self) -> float:
        r"""The factor :math:`\tau / \tau_0` applied to the loss (1 without a base temperature)."""
        if self.base_temperature is None:
            return 1.0
        return self.temperature / self.base_temperature

    def forward(self,
                query: torch.Tensor,
                keys: torch.Tensor,
                query_labels: torch.Tensor,
                key_labels: torch.Tensor,
                self_index: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss: the sum of :meth:`loss_terms` over its count (at least 1).

        Args:
            query (Tensor): anchors, L2-normalised (shape per subclass).
            keys (Tensor): reference keys, L2-normalised.
            query_labels (Tensor): labels of the anchors (encoding per subclass).
            key_labels (Tensor): labels of the keys.
            self_index (Tensor, optional): ``(B,)`` row of each query among the keys when the
                queries are keys too (in-batch use): that key is neither a candidate nor a
                positive for its own query. Defaults to None.

        Returns:
            Tensor: scalar loss, float32 (float64 for float64 inputs).
        """
        total, count = self.loss_terms(query, keys, query_labels, key_labels, self_index)
        return total / count.clamp_min(1)

    def in_batch(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Every row against every other row of the same set (SimCLR / SupCon style).

        Args:
            features (Tensor): rows used as both queries and keys, L2-normalised.
            labels (Tensor): their labels.

        Returns:
            Tensor: scalar loss, ``self(features, features, labels, labels, arange(N))``.
        """
        self_index = torch.arange(features.shape[0], device=features.device)
        return self(features, features, labels, labels, self_index)

    def loss_terms(self,
                   query: torch.Tensor,
                   keys: torch.Tensor,
                   query_labels: torch.Tensor,
                   key_labels: torch.Tensor,
                   self_index: Optional[torch.Tensor] = None
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The loss as ``(sum of terms, number of terms)``, both scalars.

        A distributed caller divides each rank's sum by the number summed over ranks (see
        :func:`mlcl_plugin.models.utils.global_mean_factor`), so the DDP-averaged loss equals
        the loss of the concatenated batch. The base temperature factor is in the sum.

        Returns:
            tuple[Tensor, Tensor]: scalar sum (with gradient) and scalar count (no gradient).
        """
        raise NotImplementedError
