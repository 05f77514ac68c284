# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Label-level supervised contrastive loss of MulCon stage 2 (Dao et al., arXiv 2107.11626).

Implemented from the project's algorithm specification (``ALGORITHMS.md`` §4.4), not from the
reference code.
"""
import numbers
from typing import Optional, Tuple

import torch
from mmpretrain.registry import MODELS
from torch import nn

from .mulsupcon_loss import _autocast_disabled


def _check_temperature(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f'{name} must be a positive number, got {value!r}')
    return float(value)


@MODELS.register_module()
class LabelContrastiveLoss(nn.Module):
    r"""Label-level supervised contrastive loss of MulCon (stage 2).

    From Dao et al., "Multi-Label Image Classification with Contrastive Learning",
    arXiv 2107.11626; journal version "Contrastively enforcing distinctiveness for multi-label
    image classification", Neurocomputing 2023. A plain :class:`torch.nn.Module` (registered in
    mmpretrain's ``MODELS`` so configs can build it with ``dict(type='LabelContrastiveLoss')``).

    The input holds one projected, L2-normalised embedding per (view, label): ``N x L x D``,
    where N counts the views of the batch (typically two augmented views per image, all first
    views then all second views) and L the classes. Only the **present** labels take part:
    every entry :math:`a = (n, l)` with :math:`y_{nl} = 1` is an anchor with class
    :math:`c(a) = l`; absent-label embeddings are never used. With
    :math:`s_{ab} = z_a^\top z_b / \tau`,

    * :math:`A(a)` = every other present entry :math:`b \neq a` (all classes, including the
      other present labels of the same image and view),
    * :math:`P(a) = \{b \in A(a) : c(b) = c(a)\}` = the same class in other images **and** in
      the other view of the same image,

    .. math::

        \ell_a = -\frac{1}{\max(|P(a)|, 1)} \sum_{b \in P(a)}
            \Big[ s_{ab} - \log \sum_{b' \in A(a)} \exp(s_{ab'}) \Big],
        \qquad
        L = \frac{\tau}{\tau_{base}} \cdot \frac{1}{\max(M, 1)} \sum_a \ell_a

    (SupCon's :math:`L_{out}`), where M is the number of present entries: anchors without a
    positive contribute 0 but still count in M. A batch without any present label or without
    any positive pair gives exactly 0 that keeps its autograd graph.

    Implementation: the loss works on all :math:`N \cdot L` entries at once with a presence
    mask: one (N·L) x (N·L) similarity matrix whose absent rows/columns and diagonal are filled
    with a large negative value before ``logsumexp``, and a positive mask built from the class
    id (entry index mod L) and presence. There is no boolean-mask indexing with a
    data-dependent shape, no ``nonzero``, no host sync and no Python loop over samples or
    classes. Memory is a few (N·L)² matrices: at the paper's stage-2 batch (48 views x 80 COCO
    classes = 3840 entries) one float32 matrix is 3840² x 4 B ≈ 59 MB, which is fine. The
    similarities and ``logsumexp`` are computed in float32 with autocast disabled (safe under
    fp16/bf16 mixed precision); the result is float32 (float64 inputs give float64).

    Differences from the reference code (``SonDaoDuy/MulCon``):

    * The reference first gathers the present-label embeddings with a double Python loop over
      samples and classes (one host sync per element) and then applies SupCon to the M gathered
      rows; here the same value is obtained from the full set with masks (identical up to float
      rounding, gradients included).
    * The reference's optional ``denominator_size`` (the hardest absent-label embeddings added
      as extra negatives; off by default) is not implemented.

    Args:
        temperature (float): Temperature :math:`\tau`. Defaults to 0.2 (the paper's value).
        base_temperature (float, optional): SupCon's base temperature; the loss is multiplied by
            ``temperature / base_temperature``. ``None`` (default) means the same as
            ``temperature``, i.e. no rescaling (the paper's setting).

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from mlcl_plugin.models.losses import LabelContrastiveLoss
        >>> loss_fn = LabelContrastiveLoss(temperature=0.2)
        >>> labels = torch.tensor([[1, 0, 1], [0, 1, 1]])     # 2 images x L = 3 classes
        >>> labels = torch.cat([labels, labels])               # two views: N = 4
        >>> z = F.normalize(torch.randn(4, 3, 16), dim=-1)     # N x L x D
        >>> loss = loss_fn(z, labels)
        >>> loss.shape, loss.dtype
        (torch.Size([]), torch.float32)
    """

    def __init__(self, temperature: float = 0.2,
                 base_temperature: Optional[float] = None) -> None:
        super().__init__()
        self.temperature = _check_temperature('temperature', temperature)
        self.base_temperature = (None if base_temperature is None else
                                 _check_temperature('base_temperature', base_temperature))

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, base_temperature={self.base_temperature}'

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            embeddings (torch.Tensor): Projected, L2-normalised label-level embeddings,
                ``N x L x D``.
            labels (torch.Tensor): Multi-hot labels ``N x L``, bool or 0/1 of any dtype (the
                two views of an image carry the same labels); nonzero = present.

        Returns:
            torch.Tensor: Scalar loss, float32 (float64 for float64 embeddings).
        """
        total, count = self.loss_terms(embeddings, labels)
        return total / count.clamp_min(1)

    def loss_terms(self, embeddings: torch.Tensor,
                   labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The loss as ``(sum of terms, number of terms)``; ``forward`` = sum / max(number, 1).

        The number of terms is M, the number of present entries (anchors without positives
        included). A distributed caller can divide each rank's sum by the count summed over
        ranks (same convention as :meth:`MulSupConLoss.loss_terms`). The temperature rescaling
        ``temperature / base_temperature`` is already applied to the sum.

        Args:
            embeddings, labels: as :meth:`forward`.

        Returns:
            tuple[Tensor, Tensor]: scalar sum (with gradient) and scalar count (no gradient).
        """
        self._check_inputs(embeddings, labels)
        num_views, num_classes, dim = embeddings.shape
        num_entries = num_views * num_classes
        # At least float32 (fp16/bf16 -> fp32; float64 stays float64, e.g. for gradcheck).
        dtype = torch.promote_types(embeddings.dtype, torch.float32)
        device = embeddings.device
        with _autocast_disabled(device.type):
            z = embeddings.reshape(num_entries, dim).to(dtype)  # NL x D, entry = n * L + l
            present = labels.reshape(num_entries) != 0  # NL
            logits = (z / self.temperature) @ z.t()  # NL x NL
            idx = torch.arange(num_entries, device=device)
            not_self = idx[:, None] != idx[None, :]  # NL x NL
            # Denominator A(a): other present entries. Absent rows are masked too (their
            # result is discarded below).
            keep = present[:, None] & present[None, :] & not_self
            neg_fill = torch.finfo(dtype).min
            lse = torch.logsumexp(logits.masked_fill(~keep, neg_fill), dim=1)  # NL
            # Positives P(a): same class id (entry index mod L) among the denominator entries.
            cls = idx % num_classes
            pos = keep & (cls[:, None] == cls[None, :])  # NL x NL
            pos_count = pos.sum(dim=1)  # NL
            # Rows without positives (absent or lonely anchors) get lse = 0 so that no extreme
            # fill value reaches the (unselected) log-probabilities.
            lse = torch.where(pos_count > 0, lse, torch.zeros_like(lse))
            log_prob = torch.where(pos, logits - lse[:, None], torch.zeros_like(logits))
            per_anchor = -log_prob.sum(dim=1) / pos_count.clamp_min(1).to(dtype)  # NL
            total = per_anchor.sum()
            if self.base_temperature is not None:
                total = total * (self.temperature / self.base_temperature)
            count = present.sum().to(dtype)
        return total, count

    @staticmethod
    def _check_inputs(embeddings: torch.Tensor, labels: torch.Tensor) -> None:
        # Shape checks only (Python-level, no host sync).
        if embeddings.dim() != 3:
            raise ValueError('embeddings must be 3-D (N x L x D label-level embeddings), got '
                             f'shape {tuple(embeddings.shape)}')
        if tuple(labels.shape) != tuple(embeddings.shape[:2]):
            raise ValueError('labels must be N x L matching embeddings N x L x D, got labels '
                             f'{tuple(labels.shape)} and embeddings {tuple(embeddings.shape)}')
