# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Image-aware contrastive loss (Chen, arXiv 2506.23156): blocks of one image are positives."""
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

# the loss's names of the core's two per-anchor forms
_FORMS = {'log_sum': 'log_sum', 'supcon': 'mean'}


@MODELS.register_module()
class ImageAwareLoss(ContrastiveLoss):
    r"""Image-aware (IA) contrastive loss: views of the same image are positives.

    From "Self-Supervised Contrastive Learning for Multi-Label Images" (Jiale Chen,
    arXiv 2506.23156). A plain :class:`torch.nn.Module`, called as
    ``loss(query, keys, query_ids, key_ids, self_index=None)``; the registration only lets
    configs build it. The log-softmax over the candidates and the per-anchor reduction are the
    shared core of :mod:`~mlcl_plugin.models.losses.contrastive_core`; this class builds the
    masks.

    Every anchor (query row) :math:`a` is contrasted with the keys. With
    :math:`s_{ab} = q_a^\top k_b / \tau`, the candidate set :math:`A(a)` is every key except
    the anchor itself (``self_index``), and the positives :math:`P(a) \subseteq A(a)` are the
    keys with the anchor's image id. Two forms:

    * ``'log_sum'`` (the form the paper's code trains with): the log of the summed positive
      mass, divided by the number of positives,

      .. math:: \ell_a = -\frac{\tau}{\tau_0} \frac{1}{|P(a)|}
                \log \frac{\sum_{b \in P(a)} e^{s_{ab}}}{\sum_{b \in A(a)} e^{s_{ab}}}

    * ``'supcon'`` (the code's alternative, SupCon's :math:`L_{out}`): the mean of the
      per-positive log-probabilities,

      .. math:: \ell_a = -\frac{\tau}{\tau_0} \frac{1}{|P(a)|} \sum_{b \in P(a)}
                \log \frac{e^{s_{ab}}}{\sum_{b' \in A(a)} e^{s_{ab'}}}

    The batch loss is the mean of :math:`\ell_a` over the anchors that have at least one
    positive. An anchor without positive (or with a negative id, meaning "no image") adds
    nothing; a batch without any positive returns exactly 0 that keeps its autograd graph, so
    the loss is never NaN. Keys with a negative id are never positives (e.g. queue entries
    that must only act as negatives).

    In-batch use (the paper): ``query = keys = features`` (N x D) and
    ``self_index = torch.arange(N)``, see :meth:`in_batch`. MoCo use: queries of one view,
    keys of the other view plus a queue, no ``self_index``.

    Temperatures follow the plugin's convention: :math:`\tau` divides the similarities and the
    loss is multiplied by :math:`\tau / \tau_0` (the paper's code keeps SupCon's factor; with
    its :math:`\tau = 0.3`, :math:`\tau_0 = 0.07` the loss is 4.29 times the plain mean).

    Args:
        temperature (float): :math:`\tau`. Defaults to 0.3 (the paper's code).
        base_temperature (float, optional): :math:`\tau_0`; None means no rescaling.
            Defaults to 0.07 (the paper's code).
        form (str): ``'log_sum'`` or ``'supcon'``. Defaults to ``'log_sum'``.

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from mlcl_plugin.models.losses import ImageAwareLoss
        >>> feats = F.normalize(torch.randn(8, 16), dim=1)  # 4 blocks of 2 images
        >>> ids = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
        >>> loss = ImageAwareLoss().in_batch(feats, ids)
        >>> loss.shape
        torch.Size([])
    """

    def __init__(self,
                 temperature: float = 0.3,
                 base_temperature: Optional[float] = 0.07,
                 form: str = 'log_sum') -> None:
        super().__init__(temperature, base_temperature)
        if form not in _FORMS:
            raise ValueError(f'form must be one of {tuple(_FORMS)}, got {form!r}')
        self.form = form

    def extra_repr(self) -> str:
        return (f'temperature={self.temperature}, base_temperature={self.base_temperature}, '
                f'form={self.form!r}')

    def masks(self,
              query_ids: torch.Tensor,
              key_ids: torch.Tensor,
              self_index: Optional[torch.Tensor] = None
              ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """The positive and candidate masks.

        Args:
            query_ids (Tensor): ``(B,)`` image ids of the anchors; negative = none.
            key_ids (Tensor): ``(K,)`` image ids of the keys; negative = none.
            self_index (Tensor, optional): ``(B,)`` row of each anchor among the keys.

        Returns:
            tuple[Tensor, Tensor | None]: ``B x K`` bool positives :math:`P(a)` and ``B x K``
            bool candidates :math:`A(a)` (None: every key).
        """
        positives = (query_ids[:, None] == key_ids[None, :]) & (query_ids >= 0)[:, None]
        if self_index is None:
            return positives, None
        cols = torch.arange(key_ids.shape[0], device=key_ids.device)
        candidates = cols[None, :] != self_index[:, None]  # B x K
        return positives & candidates, candidates

    def loss_terms(self,
                   query: torch.Tensor,
                   keys: torch.Tensor,
                   query_ids: torch.Tensor,
                   key_ids: torch.Tensor,
                   self_index: Optional[torch.Tensor] = None
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The loss as ``(sum of per-anchor terms, number of anchors with a positive)``.

        ``forward`` = sum / max(number, 1). A distributed caller divides each rank's sum by
        the number summed over ranks (``ImageAwareHead``), so the DDP-averaged loss equals the
        loss of the concatenated batch.

        Args:
            query (Tensor): anchors, ``B x D``, L2-normalised.
            keys (Tensor): keys, ``K x D``, L2-normalised.
            query_ids (Tensor): integer image id of each anchor, ``(B,)``; negative = none.
            key_ids (Tensor): integer image id of each key, ``(K,)``; negative = none.
            self_index (Tensor, optional): ``(B,)`` index into ``keys`` of each anchor's own
                row, excluded from both sets (negative = not among the keys). Defaults to
                None (no anchor is among the keys).

        Returns:
            tuple[Tensor, Tensor]: scalar sum (with gradient, the :math:`\\tau / \\tau_0`
            factor included) and scalar count (no gradient), float32 (float64 for float64
            inputs).
        """
        self._check_inputs(query, keys, query_ids, key_ids, self_index)
        dtype = compute_dtype(query, keys)
        positives, candidates = self.masks(query_ids, key_ids, self_index)
        with autocast_disabled(query.device.type):
            logits = scaled_logits(query.to(dtype), keys.to(dtype), self.temperature)  # B x K
            per_anchor, has_pos = supcon_terms(logits, positives, candidates,
                                               _FORMS[self.form])  # B, B
        return self.scale * per_anchor.sum(), has_pos.sum().to(dtype)

    @staticmethod
    def _check_inputs(query, keys, query_ids, key_ids, self_index) -> None:
        # Shape and dtype checks only (Python-level, no host sync).
        check_features(query, keys)
        for name, ids, rows, what in (('query_ids', query_ids, query.shape[0], 'query'),
                                      ('key_ids', key_ids, keys.shape[0], 'keys')):
            if not isinstance(ids, torch.Tensor) or ids.dim() != 1:
                raise ValueError(f'{name} must be a 1-D tensor of image ids, got '
                                 f'{getattr(ids, "shape", type(ids).__name__)}')
            if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
                raise ValueError(f'{name} must hold integer image ids, got dtype {ids.dtype}')
            if ids.shape[0] != rows:
                raise ValueError(f'{name} has {ids.shape[0]} entries but {what} has {rows} '
                                 'rows')
        check_self_index(self_index, query.shape[0])
