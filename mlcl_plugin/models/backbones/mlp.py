# Copyright (c) mlcl_plugin authors. All rights reserved.
"""MLP encoder for feature-vector datasets (MulSupCon's vector track)."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class MulSupConMLP(BaseModule):
    """Fully connected encoder for 1-D feature vectors.

    The vector backbone of MulSupCon (Zhang & Wu, AAAI-24), itself C-GMVAE's feature encoder:
    ``in -> 256 -> 512 -> 256``, every ``Linear`` followed by ``ReLU`` and ``Dropout(0.2)``; the
    representation is 256-d. Like mmpretrain's backbones it returns a tuple, here ``(B x r,)``
    with ``r = hidden_channels[-1]``. Pair it with ``MulSupConNeck`` for pre-training; for linear
    probing / fine-tuning with ``ImageClassifier`` use ``neck=None`` (mmpretrain's
    ``GlobalAveragePooling`` expects feature maps) and a linear head with ``in_channels=r``.

    Args:
        in_channels (int): input feature width F.
        hidden_channels (Sequence[int]): widths of the successive ``Linear`` layers; the last
            is the representation width. Defaults to ``(256, 512, 256)``.
        dropout (float): dropout probability after every ReLU. Defaults to 0.2.
        frozen (bool): freeze the whole encoder (linear probing): parameters get
            ``requires_grad=False`` and the module stays in eval mode (dropout off) even
            under ``train()``. Defaults to False.
        init_cfg (dict | list, optional): initialisation config. Defaults to None (PyTorch's
            default ``Linear`` initialisation, as the reference).
    """

    def __init__(self,
                 in_channels: int,
                 hidden_channels: Sequence[int] = (256, 512, 256),
                 dropout: float = 0.2,
                 frozen: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'in_channels must be a positive int, got {in_channels!r}')
        hidden_channels = tuple(hidden_channels)
        if not hidden_channels or not all(
                isinstance(c, int) and not isinstance(c, bool) and c >= 1
                for c in hidden_channels):
            raise ValueError('hidden_channels must be a non-empty sequence of positive ints, '
                             f'got {hidden_channels!r}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'dropout must be in [0, 1), got {dropout!r}')
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = hidden_channels[-1]
        self.frozen = frozen
        layers = []
        width = in_channels
        for out in hidden_channels:
            layers += [nn.Linear(width, out), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = out
        self.layers = nn.Sequential(*layers)
        if frozen:
            self._freeze()

    def _freeze(self) -> None:
        self.eval()
        for param in self.parameters():
            param.requires_grad = False

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """Encode a batch of vectors.

        Args:
            x (Tensor): ``B x F``.

        Returns:
            tuple[Tensor]: ``(B x r,)``.
        """
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'MulSupConMLP expects a B x {self.in_channels} input, got shape '
                             f'{tuple(x.shape)}')
        return (self.layers(x), )

    def train(self, mode: bool = True) -> 'MulSupConMLP':
        """Set train mode; a frozen encoder stays in eval mode."""
        super().train(mode)
        if mode and self.frozen:
            self._freeze()
        return self
