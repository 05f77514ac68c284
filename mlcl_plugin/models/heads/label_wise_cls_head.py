# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Per-label linear classifier of MulCon (Dao et al., arXiv 2107.11626)."""
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmpretrain.models.heads import MultiLabelClsHead
from mmpretrain.registry import MODELS


@MODELS.register_module()
class LabelWiseLinearClsHead(MultiLabelClsHead):
    """``L`` independent linear scorers, one per label embedding, as one batched product.

    MulCon scores label ``l`` with its own ``Linear(E -> 1)`` applied to that label's embedding
    (Dao et al., arXiv 2107.11626). The reference loops over the classes; here the
    ``L`` weight vectors are stacked into an ``L x E`` parameter::

        logits[b, l] = <feats[b, l], weight[l]> + bias[l]

    so the result equals ``L`` separate ``nn.Linear(E, 1)`` layers. ``loss`` / ``predict`` are
    inherited from :class:`mmpretrain.models.heads.MultiLabelClsHead` (sigmoid scores): the
    head follows mmpretrain's classification-head contract, ``loss(feats, data_samples)``
    returning ``dict(loss=...)`` (see ``docs/design/heads_and_losses.md``).

    Note:
        With the default ``CrossEntropyLoss(use_sigmoid=True)`` the inherited loss is the BCE
        summed over classes and averaged over the batch (``avg_factor = B``), i.e. ``L`` times
        the reference's mean BCE (divided by ``B * L``). Use ``loss=dict(type='ClassMeanBCELoss')``
        (:class:`~mlcl_plugin.models.losses.ClassMeanBCELoss`) to reproduce the reference's scale
        exactly for any ``L``.

    Args:
        num_classes (int): number of labels ``L``.
        in_channels (int): embedding width ``E``.
        loss (dict, optional): classification loss config; ``None`` means
            ``dict(type='CrossEntropyLoss', use_sigmoid=True)``.
        thr (float, optional): score threshold for positive predictions.
        topk (int, optional): number of top-scored labels predicted positive.
        init_std (float): std of the normal init of ``weight`` (bias 0). Defaults to 0.02
            (the reference's normal(0, 0.02) init of non-pretrained parts).
        init_cfg (dict, optional): extra initialisation config (e.g. ``Pretrained``). The
            parameters are initialised in ``__init__``; there are no ``nn.Linear`` layers, so
            layer-based rules do not apply.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: Optional[Dict] = None,
                 thr: Optional[float] = None,
                 topk: Optional[int] = None,
                 init_std: float = 0.02,
                 init_cfg: Optional[dict] = None) -> None:
        if loss is None:
            loss = dict(type='CrossEntropyLoss', use_sigmoid=True)
        super().__init__(loss=loss, thr=thr, topk=topk, init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes ({num_classes}) must be a positive integer')
        if in_channels <= 0:
            raise ValueError(f'in_channels ({in_channels}) must be a positive integer')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.weight = nn.Parameter(torch.empty(num_classes, in_channels))
        self.bias = nn.Parameter(torch.zeros(num_classes))
        nn.init.normal_(self.weight, mean=0., std=init_std)

    def pre_logits(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        """Return the last neck output, ``B x L x E``.

        Args:
            feats (tuple[Tensor] | Tensor): neck outputs; the last one is ``B x L x E``.

        Returns:
            Tensor: ``B x L x E`` label embeddings.

        Raises:
            ValueError: if the embeddings are not ``B x num_classes x in_channels``.
        """
        emb = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if (emb.dim() != 3 or emb.size(1) != self.num_classes
                or emb.size(2) != self.in_channels):
            raise ValueError(
                'LabelWiseLinearClsHead expects label embeddings of shape B x L x E with '
                f'L = num_classes = {self.num_classes} and E = in_channels = '
                f'{self.in_channels}, got shape {tuple(emb.shape)}')
        return emb

    def forward(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        """Score every label embedding with its own linear map.

        Args:
            feats (tuple[Tensor] | Tensor): neck outputs; the last one is ``B x L x E``.

        Returns:
            Tensor: logits ``B x L``.
        """
        emb = self.pre_logits(feats)
        return (emb * self.weight).sum(-1) + self.bias
