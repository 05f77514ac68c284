# Copyright (c) mlcl_plugin authors. All rights reserved.
"""MulSupCon head: similarities of queries and labelled keys -> multi-label contrastive loss."""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ..losses import MulSupConLoss
from ..losses.contrastive_core import KeyLabels, label_counts
from ..utils import global_mean_factor


@MODELS.register_module()
class MulSupConHead(BaseModule):
    """Head of MulSupCon (Zhang & Wu, AAAI-24, Eq. 4-6) and its ALL / ANY / SupCon variants.

    Follows the plugin's head contract (``docs/design/heads_and_losses.md``): it receives
    normalised local queries and a reference set of keys that the algorithm already gathered
    (identical on every rank), owns the temperature, the positive definition and the weight,
    and returns ``dict(loss=..., keys_per_label=...)``. The per-rank loss is the rank's sum of
    loss terms divided by the *global* term count (summed over ranks with one scalar
    all-reduce, the head's only collective) times the world size, so the DDP-averaged loss and
    gradients equal the single-process loss on the concatenated batch whatever the label
    counts per rank.

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

    @property
    def uses_label_sums(self) -> bool:
        """Whether per-class key sums (``LabelSums``) can replace the ``K x C`` key labels.

        True for the paper's positives, whose sets depend on the label only; the label queue
        then hands over the sums it maintains instead of the labels of every key (see the head
        contract in ``docs/design/heads_and_losses.md``).
        """
        return self.loss_module.positives == 'mulsupcon'

    def loss(self,
             query: torch.Tensor,
             keys: torch.Tensor,
             query_labels: torch.Tensor,
             key_labels: KeyLabels,
             pair_index: Optional[torch.Tensor] = None,
             self_index: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Loss of local queries against a reference set of keys shared by all ranks.

        Args:
            query (Tensor): ``B x D`` normalised queries (with gradient).
            keys (Tensor): ``K x D`` normalised keys, identical on every rank (the algorithm
                gathers them).
            query_labels (Tensor): ``B x C`` multi-hot, dense or sparse COO (or ``(B,)``
                class indices with ``positives='supcon'``).
            key_labels (Tensor | LabelSums): ``K x C`` multi-hot (dense or sparse COO; or
                ``(K,)``), or with ``positives='mulsupcon'`` their per-class key sums and
                counts (``C x D``, ``(C,)``).
            pair_index (Tensor, optional): ``(B,)`` row of each query's own key; unused: the
                own key carries the query's labels, so it is a positive like any key with them.
            self_index (Tensor, optional): not supported (MulSupCon's queries are never among
                the keys); passing one raises.

        Returns:
            dict[str, Tensor]: ``loss`` and ``keys_per_label`` (logged only): the mean number
            of reference keys carrying each label of the anchors, i.e. the size of MulSupCon's
            per-label positive sets (a cheap ``B x C`` statistic, no ``B x K`` mask).
        """
        total, count = self.loss_module.loss_terms(query, keys, query_labels, key_labels,
                                                   self_index)
        loss = self.loss_weight * total / global_mean_factor(count)
        with torch.no_grad():
            if query_labels.dim() == 2:
                per_label = label_counts(key_labels)  # C, from counts: no K x C tensor
                if query_labels.is_sparse:
                    yq = query_labels.coalesce()
                    values = yq.values().to(torch.float32)  # the stored entries only
                    keys_per_label = ((values * per_label[yq.indices()[1]]).sum()
                                      / values.sum().clamp_min(1))
                else:
                    yq = query_labels.to(torch.float32)  # B x C
                    keys_per_label = (yq @ per_label).sum() / yq.sum().clamp_min(1)
            else:  # 'supcon' with class indices
                keys_per_label = (query_labels[:, None] == key_labels[None, :]).float().sum(1)
                keys_per_label = keys_per_label.mean()
        return dict(loss=loss, keys_per_label=keys_per_label)
