# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Image-aware head: similarities of block views -> image-aware contrastive loss."""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ..losses import ImageAwareLoss
from ..utils import global_mean_factor


@MODELS.register_module()
class ImageAwareHead(BaseModule):
    """Head of the image-aware loss of Chen, arXiv 2506.23156 (see :class:`ImageAwareLoss`).

    Follows the plugin's head contract (``docs/design/heads_and_losses.md``): owns the
    temperatures, the loss form and the loss weight; the algorithm passes normalised local
    queries, a reference set of keys it already gathered (identical on every rank) and integer
    image ids (globally unique within the reference set), and gets
    ``dict(loss=..., positives_per_anchor=...)``. Both uses of the paper go through
    :meth:`loss`:

    * MoCo style (``BlockMoCo``): local queries against the gathered keys and a queue.
    * In-batch (``BlockSimSiam``): local rows against the rows of every rank, gathered **with**
      gradient by the algorithm, each row's own copy excluded through ``self_index``.

    The per-rank loss is the rank's sum of per-anchor terms divided by the *global* number of
    anchors with a positive (one scalar all-reduce, the head's only collective) times the world
    size, so the DDP-averaged loss and gradients equal the single-process loss on the
    concatenated batch.

    Args:
        temperature (float): tau. Defaults to 0.3 (the paper's code).
        base_temperature (float, optional): tau0; the loss is multiplied by tau / tau0, None
            means no rescaling. Defaults to 0.07 (the paper's code).
        form (str): ``'log_sum'`` (the paper's code) or ``'supcon'``. Defaults to
            ``'log_sum'``.
        loss_weight (float): multiplier of the loss. Defaults to 1.0 (the paper's training
            script adds the term with weight 4: set it in the config).
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 temperature: float = 0.3,
                 base_temperature: Optional[float] = 0.07,
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
             pair_index: Optional[torch.Tensor] = None,
             self_index: Optional[torch.Tensor] = None,
             scope: str = 'global') -> Dict[str, torch.Tensor]:
        """Loss of local queries against a reference set shared by all ranks.

        Args:
            query (Tensor): ``B x D`` normalised queries (with gradient).
            keys (Tensor): ``K x D`` normalised keys, identical on every rank.
            query_ids (Tensor): ``(B,)`` image ids of the queries.
            key_ids (Tensor): ``(K,)`` image ids of the keys (negative: never a positive).
            pair_index (Tensor, optional): ``(B,)`` row of each query's own key; unused: the
                own key carries the query's image id, so it is a positive anyway.
            self_index (Tensor, optional): ``(B,)`` row of each query among the keys (in-batch
                use), excluded from both sets. Defaults to None.
            scope (str): ``'global'``: the keys are the reference set of all ranks and the
                loss is the global mean (one scalar all-reduce); ``'local'``: the keys are this
                rank's own and the loss is this rank's mean, no collective (the per-GPU loss
                of the paper's code). Defaults to ``'global'``.

        Returns:
            dict[str, Tensor]: ``loss`` and ``positives_per_anchor`` (logged only): the mean
            size of the positive sets.
        """
        if scope not in ('global', 'local'):
            raise ValueError(f"scope must be 'global' or 'local', got {scope!r}")
        total, count = self.loss_module.loss_terms(query, keys, query_ids, key_ids, self_index)
        divisor = global_mean_factor(count) if scope == 'global' else count.clamp_min(1)
        loss = self.loss_weight * total / divisor
        with torch.no_grad():
            positives, _ = self.loss_module.masks(query_ids, key_ids, self_index)  # B x K
            positives_per_anchor = positives.sum(dim=1).float().mean()
        return dict(loss=loss, positives_per_anchor=positives_per_anchor)
