# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Image-aware contrastive loss of arXiv 2506.23156 (blocks of one image are positives).

Implemented from the project's algorithm specification (``ALGORITHMS.md`` §2.4, §2.5), not
from the reference code.
"""
import numbers
from typing import Optional, Tuple

import torch
from mmpretrain.registry import MODELS
from torch import nn

from .mulsupcon_loss import _autocast_disabled

_FORMS = ('log_sum', 'supcon')


@MODELS.register_module()
class ImageAwareLoss(nn.Module):
    r"""Image-aware (IA) contrastive loss: views of the same image are positives.

    From "Self-Supervised Contrastive Learning for Multi-Label Images" (Jiale Chen,
    arXiv 2506.23156). A plain :class:`torch.nn.Module`, called Lightly-style as
    ``loss(query, keys, query_ids, key_ids)``; the registration only lets configs build it.

    Every anchor (query row) :math:`a` is contrasted with the keys. With
    :math:`s_{ab} = q_a^\top k_b / \tau`, the denominator set :math:`A(a)` is every key except
    the anchor itself (``self_index``), and the positives :math:`P(a) \subseteq A(a)` are the
    keys with the anchor's image id. Two forms:

    * ``'log_sum'`` (the reference's ``new3_losses.py``, the one its training uses): the log of
      the summed positive mass, divided by the number of positives,

      .. math:: \ell_a = -\frac{\tau}{\tau_0} \frac{1}{|P(a)|}
                \log \frac{\sum_{b \in P(a)} e^{s_{ab}}}{\sum_{b \in A(a)} e^{s_{ab}}}

    * ``'supcon'`` (the reference's alternative ``new_losses.py``, SupCon's
      :math:`L_{out}`): the mean of the per-positive log-probabilities,

      .. math:: \ell_a = -\frac{\tau}{\tau_0} \frac{1}{|P(a)|} \sum_{b \in P(a)}
                \log \frac{e^{s_{ab}}}{\sum_{b' \in A(a)} e^{s_{ab'}}}

    The batch loss is the mean of :math:`\ell_a` over the anchors that have at least one
    positive. An anchor without positive (or with a negative id, meaning "no image") adds
    nothing; a batch without any positive returns exactly 0 that keeps its autograd graph, so
    the loss is never NaN. Keys with a negative id are never positives (e.g. queue entries
    that must only act as negatives).

    In-batch use (the reference): ``query = keys = features`` (N x D) and
    ``self_index = torch.arange(N)``, see :meth:`in_batch`. MoCo use: queries of one view,
    keys of the other view plus a queue, no ``self_index``.

    Logits and ``logsumexp`` are computed in float32 with autocast disabled (float64 inputs
    stay float64). Fully vectorised: one B x K similarity matrix, no loop, no host sync.

    Args:
        temperature (float): :math:`\tau`. Defaults to 0.3 (the reference).
        base_temperature (float): :math:`\tau_0`; the loss is scaled by
            :math:`\tau / \tau_0`. Defaults to 0.07 (the reference).
        form (str): ``'log_sum'`` (reference) or ``'supcon'``. Defaults to ``'log_sum'``.

    Examples:
        >>> import torch
        >>>         >>> from mlcl_plugin.models.losses import ImageAwareLoss
        >>> feats = F.normalize(torch.randn(8, 16), dim=1)  # 4 blocks of 2 images
        >>> ids = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
        >>> loss = ImageAwareLoss().in_batch(feats, ids)
        >>> loss.shape
        torch.Size([])
    """

    def __init__(self,
                 temperature: float = 0.3,
                 base_temperature: float = 0.07,
                 form: str = 'log_sum') -> None:
        super().__init__()
        for name, value in (('temperature', temperature),
                            ('base_temperature', base_temperature)):
            if (not isinstance(value, numbers.Real) or isinstance(value, bool)
                    or not value > 0):
                raise ValueError(f'{name} must be a positive number, got {value!r}')
        if form not in _FORMS:
            raise ValueError(f'form must be one of {_FORMS}, got {form!r}')
        self.temperature = float(temperature)
        self.base_temperature = float(base_temperature)
        self.form = form

    def extra_repr(self) -> str:
        return (f'temperature={self.temperature}, base_temperature={self.base_temperature}, '
                f'form={self.form!r}')

    def forward(self,
                query: torch.Tensor,
                keys: torch.Tensor,
                query_ids: torch.Tensor,
                key_ids: torch.Tensor,
                self_index: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            query (Tensor): anchors, ``B x D``, L2-normalised.
            keys (Tensor): keys, ``K x D``, L2-normalised.
            query_ids (Tensor): integer image id of each anchor, ``(B,)``; negative = none.
            key_ids (Tensor): integer image id of each key, ``(K,)``; negative = none.
            self_index (Tensor, optional): ``(B,)`` index into ``keys`` of each anchor's own
                row, excluded from both sets (negative = not among the keys). Defaults to
                None (no anchor is among the keys).

        Returns:
            Tensor: scalar loss (float32, float64 for float64 inputs).
        """
        total, count = self.loss_terms(query, keys, query_ids, key_ids, self_index)
        return total / count.clamp_min(1)

    def in_batch(self, features: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """The reference's in-batch loss: every row against every other row.

        Args:
            features (Tensor): ``N x D`` L2-normalised.
            ids (Tensor): ``(N,)`` image ids.

        Returns:
            Tensor: scalar loss.
        """
        self_index = torch.arange(features.shape[0], device=features.device)
        return self(features, features, ids, ids, self_index)

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
            query, keys, query_ids, key_ids, self_index: as :meth:`forward`.

        Returns:
            tuple[Tensor, Tensor]: scalar sum (with gradient) and scalar count (no gradient).
        """
        self._check_inputs(query, keys, query_ids, key_ids, self_index)
        dtype = torch.promote_types(torch.promote_types(query.dtype, keys.dtype), torch.float32)
        num_keys = keys.shape[0]
        # B x K masks: `valid` = the denominator set A(a), `pos` = the positives P(a)
        pos = (query_ids[:, None] == key_ids[None, :]) & (query_ids >= 0)[:, None]
        if self_index is not None:
            cols = torch.arange(num_keys, device=keys.device)
            valid = cols[None, :] != self_index[:, None]
            pos = pos & valid
        else:
            valid = None
        num_pos = pos.sum(dim=1)  # B
        has_pos = num_pos > 0  # B
        with _autocast_disabled(query.device.type):
            # scaling the B x D queries is cheaper than scaling the B x K logits
            logits = (query.to(dtype) / self.temperature) @ keys.to(dtype).t()  # B x K
            if valid is not None:
                logits = logits.masked_fill(~valid, float('-inf'))
            # Rows without a positive get finite dummy logits: their term is dropped below,
            # and an all -inf row would give NaN gradients through logsumexp.
            logits = torch.where(has_pos[:, None], logits, torch.zeros_like(logits))
            log_denominator = torch.logsumexp(logits, dim=1)  # B
            if self.form == 'log_sum':
                pos_logits = logits.masked_fill(~pos, float('-inf'))
                pos_logits = torch.where(has_pos[:, None], pos_logits,
                                         torch.zeros_like(pos_logits))
                log_ratio = torch.logsumexp(pos_logits, dim=1) - log_denominator  # B
            else:
                log_prob = logits - log_denominator[:, None]  # B x K
                log_ratio = torch.where(pos, log_prob, torch.zeros_like(log_prob)).sum(dim=1)
            scale = self.temperature / self.base_temperature
            per_anchor = -scale * log_ratio / num_pos.clamp_min(1).to(dtype)  # B
            per_anchor = torch.where(has_pos, per_anchor, torch.zeros_like(per_anchor))
        return per_anchor.sum(), has_pos.sum().to(dtype)

    @staticmethod
    def _check_inputs(query, keys, query_ids, key_ids, self_index) -> None:
        # Shape and dtype checks only (Python-level, no host sync).
        if query.dim() != 2 or keys.dim() != 2:
            raise ValueError('query and keys must be 2-D (B x D and K x D), got shapes '
                             f'{tuple(query.shape)} and {tuple(keys.shape)}')
        if keys.shape[0] == 0:
            raise ValueError(f'keys must hold at least one key, got {tuple(keys.shape)}')
        if query.shape[1] != keys.shape[1]:
            raise ValueError('query and keys must have the same feature dimension, got query '
                             f'{tuple(query.shape)} and keys {tuple(keys.shape)}')
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
        if self_index is not None:
            if (not isinstance(self_index, torch.Tensor) or self_index.dim() != 1
                    or self_index.shape[0] != query.shape[0]):
                raise ValueError('self_index must be a 1-D tensor with one entry per query '
                                 f'row ({query.shape[0]}), got '
                                 f'{getattr(self_index, "shape", type(self_index).__name__)}')
            if self_index.is_floating_point() or self_index.dtype == torch.bool:
                raise ValueError(f'self_index must hold integer indices, got dtype '
                                 f'{self_index.dtype}')

