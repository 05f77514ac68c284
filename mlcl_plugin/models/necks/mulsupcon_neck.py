# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Projection neck of MulSupCon (Zhang & Wu, AAAI-24), as in its reference code."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class MulSupConNeck(BaseModule):
    """Linear -> BN -> ReLU -> Dropout -> Linear projection (one hidden layer).

    The hidden width follows the reference rule: ``in_channels // 2`` when
    ``in_channels >= 2 * out_channels``, else ``out_channels`` (ResNet-50: 2048 -> 1024 -> 256;
    the 256-d MLP backbone of the vector track: 256 -> 256 -> 256).

    Args:
        in_channels (int): backbone feature width r.
        out_channels (int): projection width d. Defaults to 256.
        hid_channels (int, optional): hidden width; ``None`` applies the rule above.
        dropout (float): dropout after the hidden ReLU. Defaults to 0.1.
        with_avg_pool (bool): global-average-pool a ``B x r x H x W`` map first (images);
            vectors (``B x r``) pass through. Defaults to True.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 256,
                 hid_channels: Optional[int] = None,
                 dropout: float = 0.1,
                 with_avg_pool: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if hid_channels is None:
            hid_channels = in_channels // 2 if in_channels >= 2 * out_channels else out_channels
        self.with_avg_pool = with_avg_pool
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hid_channels),
            nn.BatchNorm1d(hid_channels),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hid_channels, out_channels),
        )

    def forward(self, x: Tuple[torch.Tensor]) -> Tuple[torch.Tensor]:
        """Project the last backbone output.

        Args:
            x (tuple[Tensor]): backbone outputs; the last one is ``B x r x H x W`` or ``B x r``.

        Returns:
            tuple[Tensor]: ``(B x d,)``.
        """
        feat = x[-1]
        if feat.dim() == 4:
            if not self.with_avg_pool:
                raise ValueError('MulSupConNeck got a B x r x H x W map with '
                                 'with_avg_pool=False; pool it or set with_avg_pool=True')
            feat = feat.mean(dim=(2, 3))
        return (self.mlp(feat), )
