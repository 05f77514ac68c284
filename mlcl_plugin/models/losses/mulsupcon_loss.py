# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Multi-label supervised contrastive loss (MulSupCon, Zhang & Wu, AAAI-24, Eq. 4-6)."""
from typing import Optional, Tuple

import torch
from mmpretrain.registry import MODELS

from .contrastive_core import (
    ContrastiveLoss,
    KeyLabels,
    LabelSums,
    autocast_disabled,
    check_features,
    compute_dtype,
    label_logit_terms,
    label_set_terms,
    label_sums,
    log_sum_exp,
    logits_key_major,
    scaled_logits,
    supcon_terms,
)

_POSITIVES = ('mulsupcon', 'all', 'any', 'supcon')
_WEIGHTINGS = ('none', 'per_sample')


@MODELS.register_module()
class MulSupConLoss(ContrastiveLoss):
    r"""Multi-label supervised contrastive loss of MulSupCon.

    From Zhang & Wu, "Multi-Label Supervised Contrastive Learning", AAAI-24. A plain
    :class:`torch.nn.Module` called as ``loss(query, keys, query_labels, key_labels)`` (it only
    needs torch; the registration into mmpretrain's ``MODELS`` registry just lets configs build
    it with ``dict(type='MulSupConLoss', ...)``). The log-softmax and the per-anchor mean over
    the positives are the shared core of :mod:`~mlcl_plugin.models.losses.contrastive_core`;
    this class builds the positive sets.

    Every query (anchor) :math:`q_i` is contrasted with every key :math:`k_k`; the keys are
    typically the momentum-encoder keys of the current batch (including the anchor's own key)
    followed by a queue. With :math:`s_{ik} = q_i^\top k_k / \tau` and

    .. math:: \ell_{ik} = s_{ik} - \log \sum_{k'=1}^{K} \exp(s_{ik'})

    (the denominator runs over **all** K keys, positives included: SupCon's :math:`L_{out}`),
    the positives and the batch loss depend on ``positives``:

    * ``'mulsupcon'`` (paper Eq. 4-5): every (anchor i, label j) pair with :math:`y_{ij} = 1` is
      its own contrastive term whose positive set :math:`P_j = \{k : \tilde y_{kj} = 1\}` is
      every key carrying label j (:math:`\tilde y` = key labels):

      .. math:: L_{ij} = -\frac{1}{|P_j|} \sum_{k \in P_j} \ell_{ik}

      Because :math:`P_j` does not depend on the anchor, all terms come from B x C matrices:
      with :math:`n_j = |P_j| = \sum_k \tilde y_{kj}`, :math:`G = \ell \tilde Y` (B x C) and
      :math:`L_{ij} = -G_{ij} / n_j` (one B x K ``log_softmax`` and one (B x K)·(K x C)
      product). Since :math:`\ell` is linear in the keys up to the per-row
      :math:`\mathrm{lse}_i = \log \sum_k \exp(s_{ik})`, the code evaluates the same
      :math:`G` as

      .. math:: G_{ij} = q_i^\top m_j / \tau - n_j \, \mathrm{lse}_i, \qquad
                m_j = \sum_{k \in P_j} k_k \quad (M = \tilde Y^\top K,\ C \times D),

      which replaces the B x K x C label product (forward and backward) by a C x K x D one
      that needs no backward when the keys are detached (MoCo); see
      :func:`~mlcl_plugin.models.losses.contrastive_core.label_set_terms`. Sparse key
      labels make that product follow the number of stored labels, and ``key_labels`` given
      as :class:`~mlcl_plugin.models.losses.contrastive_core.LabelSums` (M and n, which the
      label queue maintains as keys come and go) remove it: the loss then costs the B x K
      logits and their ``logsumexp`` plus B x C terms. With fewer anchors than feature
      dimensions (B < D) and key labels given as labels, the same sum is taken on the logits
      instead: with the pair weights :math:`W_{ij} = y_{ij} / n_j` (times :math:`1/|y_i|`
      under ``'per_sample'``), :math:`\sum_{ij} W_{ij} G_{ij} = \sum_{ik} \ell_{ik}
      (W \tilde Y^\top)_{ik}`, a label product by B rather than D columns (see
      :func:`~mlcl_plugin.models.losses.contrastive_core.label_logit_terms`; the loss picks
      the cheaper form). Only pairs with :math:`n_j > 0` are valid.
    * ``'all'``: :math:`P_i` = keys whose label vector equals :math:`y_i` exactly.
    * ``'any'``: :math:`P_i` = keys sharing at least one label with :math:`y_i`.
    * ``'supcon'``: single-label targets (one-hot rows, or integer class indices of shape
      ``(B,)`` / ``(K,)``); :math:`P_i` = keys of the same class, i.e. plain SupCon
      (:math:`L_{out}`). One-hot rows are matched exactly as in ``'all'``; a negative class index
      means "no label".

      For these three, :math:`L_i = -\frac{1}{|P_i|} \sum_{k \in P_i} \ell_{ik}`.

    Reduction (``weighting``):

    * ``'none'``: ``'mulsupcon'`` averages over the valid (anchor, label) pairs,
      :math:`\sum_{(i,j)} L_{ij} / \#\{(i,j): y_{ij} = 1, n_j > 0\}` (paper Eq. 5); the other
      modes average :math:`L_i` over the anchors that have at least one label and at least one
      positive.
    * ``'per_sample'`` (paper Eq. 6 ablation, weight :math:`1/|y_i|`): ``'mulsupcon'`` gives
      :math:`\frac{1}{B} \sum_i \frac{1}{|y_i|} \sum_j L_{ij}`, where :math:`|y_i|` counts the
      valid pairs of anchor i and B counts **all** anchors of the batch, unlabeled ones included
      (as the reference); the other modes give :math:`\sum_i L_i / B` over all anchors, which is
      the reference's plain batch mean for ``'all'``/``'any'``.

    Anchors without labels or without any positive contribute nothing. A batch without any
    positive pair returns exactly 0 that keeps its autograd graph (backward gives zero grads).
    Multi-hot labels must be 0/1 (bool or any numeric dtype); they are used as given, neither
    binarised nor validated (either would cost passes over the K x C label queue or a host
    sync).

    Differences from the reference code (``williamzhangsjtu/MulSupCon``):

    * The reference materialises one score row per (anchor, label) pair (Σ|y_i| x K rows), builds
      the positive mask with a (Σ|y_i| x C)·(C x K) product and its weights after a host sync;
      this form is exact (same value and gradient up to float rounding) with only B x K logits,
      no Python loop and no host sync.
    * ``'any'``: an unlabeled anchor has no positive here and is skipped; the reference divides
      by |P_i| = 0 (NaN).
    * ``'all'``: an unlabeled anchor has no positive here; the reference matches it with every
      other unlabeled key (at least its own).
    * If the keys do not contain every anchor's own key, a label carried by no key has no
      positive and its pair is dropped from both the sum and the count (the reference always
      includes the own key, so there :math:`n_j \geq 1` for every present label).
    * The reference's plain mean over B anchors for ``'all'``/``'any'`` is ``weighting=
      'per_sample'`` here; ``'none'`` averages over anchors with a positive only.
    * Logits, ``log_softmax`` and the label products are computed in float32 with autocast
      disabled, so the loss is safe under fp16/bf16 mixed precision; the result is float32
      (float64 inputs are kept in float64 and give a float64 result).

    The queries are never among the keys in MoCo use, so there is no ``self_index`` (passing
    one raises): the anchor's own key is the other view, a positive like any key with its labels.
    There is no base temperature either (the paper has none): the loss is not rescaled.

    Args:
        temperature (float): Temperature :math:`\tau` dividing the cosine similarities.
            Defaults to 0.1 (the reference's value).
        positives (str): Positive-set definition, one of ``'mulsupcon'``, ``'all'``, ``'any'``,
            ``'supcon'``. Defaults to ``'mulsupcon'``.
        weighting (str): ``'none'`` or ``'per_sample'`` (see above). Defaults to ``'none'``.

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from mlcl_plugin.models.losses import MulSupConLoss
        >>> loss_fn = MulSupConLoss(temperature=0.1)
        >>> q = F.normalize(torch.randn(4, 8), dim=1)          # B x D
        >>> queue = F.normalize(torch.randn(6, 8), dim=1)
        >>> k = torch.cat([F.normalize(q + 0.1 * torch.randn(4, 8), dim=1), queue])  # K x D
        >>> y = torch.tensor([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 0]])  # B x C
        >>> y_keys = torch.cat([y, torch.randint(0, 2, (6, 3))])  # K x C
        >>> loss = loss_fn(q, k, y, y_keys)
        >>> loss.shape, loss.dtype
        (torch.Size([]), torch.float32)
    """

    def __init__(self,
                 temperature: float = 0.1,
                 positives: str = 'mulsupcon',
                 weighting: str = 'none') -> None:
        super().__init__(temperature)
        if positives not in _POSITIVES:
            raise ValueError(f'positives must be one of {_POSITIVES}, got {positives!r}')
        if weighting not in _WEIGHTINGS:
            raise ValueError(f'weighting must be one of {_WEIGHTINGS}, got {weighting!r}')
        self.positives = positives
        self.weighting = weighting

    def extra_repr(self) -> str:
        return (f'temperature={self.temperature}, positives={self.positives!r}, '
                f'weighting={self.weighting!r}')

    def loss_terms(self,
                   query: torch.Tensor,
                   keys: torch.Tensor,
                   query_labels: torch.Tensor,
                   key_labels: KeyLabels,
                   self_index: Optional[torch.Tensor] = None
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The loss as ``(sum of terms, number of terms)``; ``forward`` = sum / max(number, 1).

        A distributed caller divides each rank's sum by the count summed over ranks, so the
        DDP-averaged loss equals the loss of the concatenated batch (see ``MulSupConHead``).
        The number of terms is: valid (anchor, label) pairs (``'mulsupcon'``, ``'none'``);
        anchors with a positive (other modes, ``'none'``); all B anchors (``'per_sample'``).

        Args:
            query (Tensor): anchors, ``B x D``, L2-normalised.
            keys (Tensor): keys, ``K x D``, L2-normalised (usually the batch's own keys
                followed by a queue).
            query_labels (Tensor): multi-hot anchor labels ``B x C``, bool or 0/1 of any
                dtype (not validated: that would need a host sync), dense or sparse COO
                (``'mulsupcon'`` then reads only the stored entries). For ``positives='supcon'``
                also integer class indices of shape ``(B,)`` (negative = no label).
            key_labels (Tensor | LabelSums): key labels, ``K x C`` (or ``(K,)`` for
                ``'supcon'``), same encoding as ``query_labels``, dense or sparse COO; for
                ``'mulsupcon'`` also their per-class key sums and counts
                (:class:`~mlcl_plugin.models.losses.contrastive_core.LabelSums`, ``C x D`` and
                ``(C,)``, as maintained by the label queue), which skips every ``K x C`` pass.
            self_index (None): not supported; must be None.

        Returns:
            tuple[Tensor, Tensor]: scalar sum (with gradient) and scalar count (no gradient),
            float32 (float64 for float64 inputs).
        """
        if self_index is not None:
            raise ValueError('MulSupConLoss takes no self_index: the queries are not among the '
                             'keys (MoCo use); for in-batch contrast pass the other view as keys')
        self._check_inputs(query, keys, query_labels, key_labels)
        num_anchors = query.shape[0]
        dtype = compute_dtype(query, keys)
        with autocast_disabled(query.device.type):
            query, keys = query.to(dtype), keys.to(dtype)
            if self.positives == 'mulsupcon':
                return self._mulsupcon(query, keys, query_labels, key_labels)
            logits = scaled_logits(query, keys, self.temperature)  # B x K
            positives = self._positive_mask(query_labels, key_labels)  # B x K bool
            per_anchor, has_pos = supcon_terms(logits, positives)  # B, B
            if self.weighting == 'none':
                return per_anchor.sum(), has_pos.sum().to(dtype)
            return per_anchor.sum(), query.new_tensor(float(num_anchors))

    def _mulsupcon(self, query: torch.Tensor, keys: torch.Tensor, query_labels: torch.Tensor,
                   key_labels: KeyLabels) -> Tuple[torch.Tensor, torch.Tensor]:
        """MulSupCon terms (inputs already in the compute dtype)."""
        if self._weights_on_logits(query, keys, key_labels):
            # label weights against the logits: B per stored key label, not D. Key-major
            # (K x B) on CPU, anchor-major on CUDA, whose softmax over dim 0 is slow.
            per_anchor_mean = self.weighting == 'per_sample'
            if logits_key_major(query.device):
                key_logits = keys @ (query / self.temperature).t()  # K x B
                return label_logit_terms(key_logits, query_labels, key_labels,
                                         per_anchor_mean=per_anchor_mean)
            return label_logit_terms(scaled_logits(query, keys, self.temperature),  # B x K
                                     query_labels, key_labels, per_anchor_mean=per_anchor_mean,
                                     key_major=False)
        dtype = query.dtype
        log_den = log_sum_exp(scaled_logits(query, keys, self.temperature), dim=1)  # B
        # Positive-logit sums from the per-label key sums (C x D): the label product shrinks
        # from B x K x C to C x K x D (dense labels), to the stored labels (sparse ones) or to
        # nothing (sums maintained by the label queue); no backward when the keys are detached.
        if not isinstance(key_labels, LabelSums):
            key_labels = label_sums(key_labels, keys)
        # (float64 sums of the label queue are cast row by row where the terms gather them)
        sums = LabelSums(key_labels.sums, key_labels.counts.to(dtype))
        return label_set_terms(query, log_den, query_labels, sums, self.temperature,
                               per_anchor_mean=self.weighting == 'per_sample')

    @staticmethod
    def _weights_on_logits(query: torch.Tensor, keys: torch.Tensor,
                           key_labels: KeyLabels) -> bool:
        """Whether :func:`label_logit_terms` is the cheaper form for these inputs.

        Both forms cost one product over the stored key labels, by B columns (weights on the
        logits) or by D (class sums); the logits form adds a few passes over the ``B x K``
        logits (the weighted sum and its backward). So it wins when B < D and the stored labels
        are many enough: stored x (D - B) > 4 x B x K (the factor from timing both forms side
        by side on CPU, one thread, B = 64, K = 4096: at 80 classes, 3 labels per key, they cost
        the same; at 365 classes, 7 per key, the logits form is faster). Summed labels
        have no such product at
        all; dense labels with C > D on CPU are made sparse by :func:`label_sums`, whose pass
        over ``K x C`` costs about what the dense ``B x K x C`` product does.
        """
        if isinstance(key_labels, LabelSums):
            return False
        (num_anchors, dim), num_keys = query.shape, keys.shape[0]
        if key_labels.is_sparse:
            stored = key_labels._nnz()  # host metadata, no sync
        elif key_labels.device.type == 'cpu' and key_labels.shape[1] > dim:
            return False
        else:
            stored = key_labels.numel()
        return stored * (dim - num_anchors) > 4 * num_anchors * num_keys

    def _positive_mask(self, query_labels: torch.Tensor,
                       key_labels: torch.Tensor) -> torch.Tensor:
        """``B x K`` bool positives of ``'all'``, ``'any'`` and ``'supcon'``."""
        if query_labels.dim() == 1:  # 'supcon' with class indices
            same = query_labels[:, None] == key_labels[None, :]  # B x K
            return same & (query_labels >= 0)[:, None]
        yq = query_labels.to_dense() if query_labels.is_sparse else query_labels
        yq = yq.float()  # B x C
        # these positive sets depend on the anchor, so they need the labels of every key
        yk = key_labels.to_dense().float() if key_labels.is_sparse else key_labels.float()
        # Shared-label counts are small integers, exact in float32.
        overlap = yq @ yk.t()  # B x K
        if self.positives == 'any':
            return overlap > 0
        # 'all' / one-hot 'supcon': equal binary vectors <=> overlap = |y_i| = |y_k|.
        nq = yq.sum(dim=1)  # B
        nk = yk.sum(dim=1)  # K
        return (overlap == nq[:, None]) & (overlap == nk[None, :]) & (nq > 0)[:, None]

    def _check_inputs(self, query: torch.Tensor, keys: torch.Tensor, query_labels: torch.Tensor,
                      key_labels: KeyLabels) -> None:
        # Shape checks only (Python-level, no host sync).
        check_features(query, keys)
        if isinstance(key_labels, LabelSums):
            sums, counts = key_labels
            if self.positives != 'mulsupcon':
                raise ValueError(f'positives={self.positives!r} needs the labels of every key '
                                 '(K x C); LabelSums only describe the per-label positive sets '
                                 "of positives='mulsupcon'")
            num_classes = query_labels.shape[-1] if query_labels.dim() == 2 else None
            if (sums.dim() != 2 or counts.shape != (sums.shape[0], )
                    or sums.shape[1] != query.shape[1] or sums.shape[0] != num_classes):
                raise ValueError(
                    'key_labels as LabelSums must hold C x D sums and (C,) counts with C = '
                    f'the classes of query_labels {tuple(query_labels.shape)} and D = the '
                    f'feature width of query {tuple(query.shape)}; got sums '
                    f'{tuple(sums.shape)} and counts {tuple(counts.shape)}')
            return
        if query_labels.dim() != key_labels.dim():
            raise ValueError('query_labels and key_labels must have the same number of '
                             f'dimensions, got {tuple(query_labels.shape)} and '
                             f'{tuple(key_labels.shape)}')
        if query_labels.dim() == 1:
            if self.positives != 'supcon':
                raise ValueError(f'positives={self.positives!r} needs multi-hot labels (B x C '
                                 f'and K x C), got 1-D labels {tuple(query_labels.shape)}; '
                                 "class indices are only accepted with positives='supcon'")
            for name, lab in (('query_labels', query_labels), ('key_labels', key_labels)):
                if lab.is_floating_point() or lab.is_complex() or lab.dtype == torch.bool:
                    raise ValueError(f'1-D {name} must hold integer class indices, got '
                                     f'dtype {lab.dtype}')
        elif query_labels.dim() == 2:
            if query_labels.shape[1] != key_labels.shape[1]:
                raise ValueError('query_labels and key_labels must have the same number of '
                                 f'classes C, got query_labels {tuple(query_labels.shape)} and '
                                 f'key_labels {tuple(key_labels.shape)}')
        else:
            raise ValueError('labels must be multi-hot (B x C, K x C) or, for '
                             "positives='supcon', class indices (B,), (K,); got shapes "
                             f'{tuple(query_labels.shape)} and {tuple(key_labels.shape)}')
        if query_labels.shape[0] != query.shape[0]:
            raise ValueError(f'query_labels has {query_labels.shape[0]} rows but query has '
                             f'B = {query.shape[0]} (query {tuple(query.shape)}, query_labels '
                             f'{tuple(query_labels.shape)})')
        if key_labels.shape[0] != keys.shape[0]:
            raise ValueError(f'key_labels has {key_labels.shape[0]} rows but keys has '
                             f'K = {keys.shape[0]} (keys {tuple(keys.shape)}, key_labels '
                             f'{tuple(key_labels.shape)})')
