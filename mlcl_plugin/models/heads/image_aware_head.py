# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Image-aware head: similarities of block views -> image-aware contrastive loss."""
from typing import Dict, Optional

import torch
from mmengine.dist import get_rank
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ..losses import ImageAwareLoss
from ..utils import gather_no_grad, gather_with_grad, global_mean_factor


@MODELS.register_module()
class ImageAwareHead(BaseModule):
    """Head of the image-aware loss of arXiv 2506.23156 (see :class:`ImageAwareLoss`).

    Owns the temperatures, the loss form and the loss weight; the algorithm passes normalised
    features and integer image ids (globally unique within the reference set). Two entry
    points:

    * :meth:`loss` (``loss(query, keys, query_ids, key_ids)``, the MoCo-style contract of
      ``MultiLabelMoCo``): local queries against a reference set identical on every rank
      (gathered keys + queue).
    * :meth:`loss_in_batch` (the reference, used by ``BlockSimSiam``): every local row against
      the rows of every rank, gathered **with** gradient, the row itself excluded.

    In both, the per-rank loss is the rank's sum of per-anchor terms divided by the *global*
    number of anchors with a positive (one all-reduce) times the world size, so the
    DDP-averaged loss and gradients equal the single-process loss on the concatenated batch.

    Args:
        temperature (float): tau. Defaults to 0.3 (reference).
        base_temperature (float): tau0; the loss is scaled by tau / tau0. Defaults to 0.07
            (reference).
        form (str): ``'log_sum'`` (reference) or ``'supcon'``. Defaults to ``'log_sum'``.
        loss_weight (float): multiplier of the loss. Defaults to 1.0 (the reference's
            training script adds the term with weight 4: set it in the config).
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 temperature: float = 0.3,
                 base_temperature: float = 0.07,
                 form: str = 'log_sum',
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.loss_module = ImageAwareLoss(
            temperature=temperature, base_temperature=base_temperature, form=form)
        self.loss_weight = float(loss_weight)

    def loss(self,
             query: torch.Tensor,
             keys: torch.Tensor,
             query_ids: torch.Tensor,
             key_ids: torch.Tensor,
             self_index: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Loss of local queries against a reference set shared by all ranks.

        Args:
            query (Tensor): ``B x D`` normalised queries (with gradient).
            keys (Tensor): ``K x D`` normalised keys, identical on every rank.
            query_ids (Tensor): ``(B,)`` image ids of the queries.
            key_ids (Tensor): ``(K,)`` image ids of the keys (negative: never a positive).
            self_index (Tensor, optional): ``(B,)`` row of each query among the keys, excluded
                from both sets. Defaults to None.

        Returns:
            dict[str, Tensor]: ``loss`` and ``positives_per_anchor`` (logged only): the mean
            size of the positive sets.
        """
        total, count = self.loss_module.loss_terms(query, keys, query_ids, key_ids, self_index)
        loss = self.loss_weight * total / global_mean_factor(count)
        with torch.no_grad():
            same = (query_ids[:, None] == key_ids[None, :]) & query_ids.ge(0)[:, None]  # B x K
            if self_index is not None:
                cols = torch.arange(keys.shape[0], device=keys.device)
                same &= cols[None, :] != self_index[:, None]
            positives = same.sum(dim=1).float().mean()
        return dict(loss=loss, positives_per_anchor=positives)

    def loss_in_batch(self, features: torch.Tensor,
                      ids: torch.Tensor) -> Dict[str, torch.Tensor]:
        """In-batch form: local rows against the rows of every rank (gradient through all).

        Args:
            features (Tensor): ``N x D`` normalised features of this rank (same N on every
                rank).
            ids (Tensor): ``(N,)`` image ids, unique across ranks for different images.

        Returns:
            dict[str, Tensor]: as :meth:`loss`.
        """
        keys = gather_with_grad(features)  # G*N x D
        key_ids = gather_no_grad(ids)  # G*N
        offset = get_rank() * features.shape[0]
        self_index = torch.arange(offset, offset + features.shape[0], device=features.device)
        return self.loss(features, keys, ids, key_ids, self_index)
