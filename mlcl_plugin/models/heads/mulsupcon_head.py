# Copyright (c) mlcl_plugin authors. All rights reserved.
"""MulSupCon head: similarities of queries and labelled keys -> multi-label contrastive loss."""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ..losses import MulSupConLoss
from ..utils import gather_no_grad, gather_with_grad, global_mean_factor


@MODELS.register_module()
class MulSupConHead(BaseModule):
    """Head of MulSupCon (Zhang & Wu, AAAI-24) and its ALL / ANY / SupCon variants.

    Owns the temperature and the positive definition; the algorithm passes normalised
    queries, the reference keys and both label matrices. The per-rank loss is the rank's sum of
    loss terms divided by the *global* term count (summed over ranks with one all-reduce) times
    the world size, so the DDP-averaged loss and gradients equal the single-process loss on the
    concatenated batch whatever the label counts per rank.

    Args:
        temperature (float): tau. Defaults to 0.1 (paper).
        positives (str): ``'mulsupcon'`` (paper), ``'all'``, ``'any'`` or ``'supcon'``; see
            :class:`MulSupConLoss`. Defaults to ``'mulsupcon'``.
        weighting (str): ``'none'`` or ``'per_sample'`` (paper Eq. 6 ablation).
            Defaults to ``'none'``.
        loss_weight (float): multiplier of the loss. Defaults to 1.0.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 temperature: float = 0.1,
                 positives: str = 'mulsupcon',
                 weighting: str = 'none',
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.loss_module = MulSupConLoss(
            temperature=temperature, positives=positives, weighting=weighting)
        self.loss_weight = loss_weight

    def loss(self, query: torch.Tensor, keys: torch.Tensor, query_labels: torch.Tensor,
             key_labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Loss of local queries against a reference set of keys shared by all ranks.

        Args:
            query (Tensor): ``B x D`` normalised queries (with gradient).
            keys (Tensor): ``K x D`` normalised keys, identical on every rank (the algorithm
                gathers them).
            query_labels (Tensor): ``B x C`` multi-hot.
            key_labels (Tensor): ``K x C`` multi-hot.

        Returns:
            dict[str, Tensor]: ``loss`` and ``keys_per_label`` (logged only): the mean number
            of reference keys carrying each label of the anchors, i.e. the size of MulSupCon's
            per-label positive sets (a cheap ``B x C`` statistic, no ``B x K`` mask).
        """
        total, count = self.loss_module.loss_terms(query, keys, query_labels, key_labels)
        loss = self.loss_weight * total / global_mean_factor(count)
        with torch.no_grad():
            if query_labels.dim() == 2:
                yq = (query_labels > 0).float()  # B x C
                per_label = (key_labels > 0).float().sum(0)  # C
                keys_per_label = (yq @ per_label).sum() / yq.sum().clamp_min(1)
            else:  # 'supcon' with class indices
                keys_per_label = (query_labels[:, None] == key_labels[None, :]).float().sum(1)
                keys_per_label = keys_per_label.mean()
        return dict(loss=loss, keys_per_label=keys_per_label)

    def loss_in_batch(self, query: torch.Tensor, key: torch.Tensor,
                      labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """In-batch form (no queue): local queries against the keys of every rank.

        The keys are gathered with a gradient-carrying all-gather, so keys computed by the
        trained encoder (SimCLR / SupCon style) receive gradients from every rank's queries.

        Args:
            query (Tensor): ``B x D`` normalised queries of this rank.
            key (Tensor): ``B x D`` normalised keys of this rank (may require grad).
            labels (Tensor): ``B x C`` multi-hot labels of this rank's samples.

        Returns:
            dict[str, Tensor]: as :meth:`loss`.
        """
        keys = gather_with_grad(key)  # G*B x D
        key_labels = gather_no_grad(labels)  # G*B x C
        return self.loss(query, keys, labels, key_labels)
