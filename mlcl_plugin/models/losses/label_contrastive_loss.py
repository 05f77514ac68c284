# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Label-level supervised contrastive loss of MulCon stage 2 (Dao et al., arXiv 2107.11626)."""
from typing import Optional, Tuple

import torch
from mmpretrain.registry import MODELS

from .contrastive_core import (
    ContrastiveLoss,
    autocast_disabled,
    check_features,
    check_self_index,
    compute_dtype,
    scaled_logits,
    supcon_terms,
)


@MODELS.register_module()
class LabelContrastiveLoss(ContrastiveLoss):
    r"""Label-level supervised contrastive loss of MulCon (stage 2).

    From Dao et al., "Multi-Label Image Classification with Contrastive Learning",
    arXiv 2107.11626 (journal version "Contrastively enforcing distinctiveness for
    multi-label image classification", Neurocomputing 2023). A plain :class:`torch.nn.Module`
    called as ``loss(query, keys, query_labels, key_labels, self_index=None)`` (registered in
    mmpretrain's ``MODELS`` so configs can build it with ``dict(type='LabelContrastiveLoss')``).
    The log-softmax over the candidates and the per-anchor mean over the positives are the
    shared core of :mod:`~mlcl_plugin.models.losses.contrastive_core`; this class builds the
    masks.

    Queries and keys hold one projected, L2-normalised embedding per (view, label):
    ``B x L x D`` and ``K x L x D``, L the classes. Only **present** labels take part: every
    query entry :math:`a = (i, l)` with :math:`y_{il} = 1` is an anchor of class
    :math:`c(a) = l`, every key entry :math:`b = (k, m)` with :math:`\tilde y_{km} = 1` a
    candidate; absent-label embeddings are never used. With :math:`s_{ab} = z_a^\top z_b / \tau`,

    * :math:`A(a)` = every present key entry except the anchor's own (``self_index``; all
      classes, including the other present labels of the same image and view),
    * :math:`P(a) = \{b \in A(a) : c(b) = c(a)\}` = the same class in other images **and** in
      the other view of the same image,

    .. math::

        \ell_a = -\frac{1}{\max(|P(a)|, 1)} \sum_{b \in P(a)}
            \Big[ s_{ab} - \log \sum_{b' \in A(a)} \exp(s_{ab'}) \Big],
        \qquad
        L = \frac{\tau}{\tau_0} \cdot \frac{1}{\max(M, 1)} \sum_a \ell_a

    (SupCon's :math:`L_{out}`), where M is the number of present query entries: anchors
    without a positive contribute 0 but still count in M. A batch without any present label or
    without any positive pair gives exactly 0 that keeps its autograd graph.

    MulCon contrasts the batch with itself (all first views, then all second views, same
    labels): ``loss.in_batch(embeddings, labels)``, i.e. ``query = keys`` with
    ``self_index = arange(N)``.

    Implementation: all entries at once with presence masks: one (B·L) x (K·L) similarity
    matrix, candidates from the key presence and the anchor's own entry, positives from the
    class id (entry index mod L). There is no boolean-mask indexing with a data-dependent shape,
    no ``nonzero``, no host sync and no Python loop over samples or classes. Memory is a few
    (B·L) x (K·L) matrices: at the paper's stage-2 batch (48 views x 80 COCO classes = 3840
    entries) one float32 matrix takes 3840² x 4 bytes, 59 MB.

    Differences from the reference code (``SonDaoDuy/MulCon``):

    * The reference first gathers the present-label embeddings with a double Python loop over
      samples and classes (one host sync per element) and then applies SupCon to the M gathered
      rows; here the same value is obtained from the full set with masks (identical up to float
      rounding, gradients included).
    * The reference's optional ``denominator_size`` (the hardest absent-label embeddings added
      as extra negatives; off by default) is not implemented.

    Args:
        temperature (float): Temperature :math:`\tau`. Defaults to 0.2 (the paper's value).
        base_temperature (float, optional): :math:`\tau_0`; the loss is multiplied by
            ``temperature / base_temperature``. ``None`` (default) means no rescaling (the
            paper's setting).

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from mlcl_plugin.models.losses import LabelContrastiveLoss
        >>> loss_fn = LabelContrastiveLoss(temperature=0.2)
        >>> labels = torch.tensor([[1, 0, 1], [0, 1, 1]])     # 2 images x L = 3 classes
        >>> labels = torch.cat([labels, labels])               # two views: N = 4
        >>> z = F.normalize(torch.randn(4, 3, 16), dim=-1)     # N x L x D
        >>> loss = loss_fn.in_batch(z, labels)
        >>> loss.shape, loss.dtype
        (torch.Size([]), torch.float32)
    """

    def __init__(self, temperature: float = 0.2,
                 base_temperature: Optional[float] = None) -> None:
        super().__init__(temperature, base_temperature)

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, base_temperature={self.base_temperature}'

    @staticmethod
    def masks(query_labels: torch.Tensor,
              key_labels: torch.Tensor,
              self_index: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """The positive and candidate masks over the flattened entries (entry = row * L + l).

        Args:
            query_labels (Tensor): ``B x L`` multi-hot; nonzero = present.
            key_labels (Tensor): ``K x L`` multi-hot.
            self_index (Tensor, optional): ``(B,)`` row of each query among the keys.

        Returns:
            tuple[Tensor, Tensor]: ``(B·L) x (K·L)`` bool positives :math:`P(a)` (empty rows
            for absent anchors) and candidates :math:`A(a)`.
        """
        num_classes = query_labels.shape[1]
        device = query_labels.device
        anchors = query_labels.reshape(-1) != 0  # B·L
        candidates = (key_labels.reshape(-1) != 0)[None, :]  # 1 x K·L
        rows = torch.arange(anchors.shape[0], device=device)
        cols = torch.arange(candidates.shape[1], device=device)
        if self_index is not None:
            # the anchor's own entry: key row self_index[i], same class l
            own = (self_index[:, None] * num_classes
                   + torch.arange(num_classes, device=device)[None, :]).reshape(-1)  # B·L
            candidates = candidates & (cols[None, :] != own[:, None])
        same_class = (rows % num_classes)[:, None] == (cols % num_classes)[None, :]
        positives = candidates & same_class & anchors[:, None]
        return positives, candidates.expand(anchors.shape[0], -1)

    def loss_terms(self,
                   query: torch.Tensor,
                   keys: torch.Tensor,
                   query_labels: torch.Tensor,
                   key_labels: torch.Tensor,
                   self_index: Optional[torch.Tensor] = None
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The loss as ``(sum of terms, number of terms)``; ``forward`` = sum / max(number, 1).

        The number of terms is M, the number of present query entries (anchors without
        positives included). A distributed caller can divide each rank's sum by the count
        summed over ranks (same convention as :meth:`MulSupConLoss.loss_terms`). The factor
        ``temperature / base_temperature`` is already applied to the sum.

        Args:
            query (Tensor): query label embeddings, ``B x L x D``, L2-normalised.
            keys (Tensor): key label embeddings, ``K x L x D``, L2-normalised.
            query_labels (Tensor): ``B x L`` multi-hot, bool or 0/1 of any dtype; nonzero =
                present.
            key_labels (Tensor): ``K x L`` multi-hot.
            self_index (Tensor, optional): ``(B,)`` row of each query among the keys (its
                entries are excluded); None: no query is among the keys.

        Returns:
            tuple[Tensor, Tensor]: scalar sum (with gradient) and scalar count (no gradient),
            float32 (float64 for float64 embeddings).
        """
        self._check_inputs(query, keys, query_labels, key_labels, self_index)
        dim = query.shape[-1]
        dtype = compute_dtype(query, keys)
        positives, candidates = self.masks(query_labels, key_labels, self_index)
        with autocast_disabled(query.device.type):
            logits = scaled_logits(query.reshape(-1, dim).to(dtype),
                                   keys.reshape(-1, dim).to(dtype),
                                   self.temperature)  # B·L x K·L
            per_anchor, _ = supcon_terms(logits, positives, candidates)  # B·L
        count = (query_labels != 0).sum().to(dtype)
        return self.scale * per_anchor.sum(), count

    @staticmethod
    def _check_inputs(query, keys, query_labels, key_labels, self_index) -> None:
        # Shape checks only (Python-level, no host sync).
        check_features(query, keys, dims=3)
        for name, labels, what, emb in (('query_labels', query_labels, 'query', query),
                                        ('key_labels', key_labels, 'keys', keys)):
            if tuple(labels.shape) != tuple(emb.shape[:2]):
                raise ValueError(f'{name} must match the first two dimensions of {what}, got '
                                 f'labels {tuple(labels.shape)} and {what} '
                                 f'{tuple(emb.shape)}')
        check_self_index(self_index, query.shape[0])
