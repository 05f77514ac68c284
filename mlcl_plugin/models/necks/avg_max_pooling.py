# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Mean of global average and global max pooling (linear evaluation of arXiv 2506.23156)."""
from typing import Tuple, Union

import torch
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class AvgMaxPooling(nn.Module):
    """Pool each feature map as ``(global max pool + global average pool) / 2``.

    The pooling of the multi-label linear evaluation of arXiv 2506.23156
    (``docs/algorithms/blockwise.md``): features of the last ResNet stage, max- and average-pooled
    over the spatial positions and averaged. Drop-in for mmpretrain's ``GlobalAveragePooling``: a
    tuple of ``N x C x H x W`` maps gives a tuple of ``N x C`` vectors, a tensor gives a
    tensor.

    Args:
        max_weight (float): weight ``w`` of the max pool; the output is
            ``w * max + (1 - w) * avg``. Defaults to 0.5 (the reference's mean).
    """

    def __init__(self, max_weight: float = 0.5) -> None:
        super().__init__()
        if isinstance(max_weight, bool) or not 0.0 <= float(max_weight) <= 1.0:
            raise ValueError(f'max_weight must be in [0, 1], got {max_weight!r}')
        self.max_weight = float(max_weight)

    def init_weights(self) -> None:
        """No parameters to initialise."""

    def extra_repr(self) -> str:
        return f'max_weight={self.max_weight}'

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3:
            raise ValueError(f'AvgMaxPooling expects N x C x ... feature maps, got shape '
                             f'{tuple(x.shape)}')
        flat = x.flatten(2)  # N x C x (H*W)
        return self.max_weight * flat.amax(dim=2) + (1 - self.max_weight) * flat.mean(dim=2)

    def forward(self, inputs: Union[torch.Tensor, Tuple[torch.Tensor, ...]]
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """Pool a feature map or a tuple of feature maps.

        Args:
            inputs (Tensor | tuple[Tensor]): ``N x C x H x W`` map(s).

        Returns:
            Tensor | tuple[Tensor]: ``N x C`` vector(s).
        """
        if isinstance(inputs, tuple):
            return tuple(self._pool(x) for x in inputs)
        if isinstance(inputs, torch.Tensor):
            return self._pool(inputs)
        raise TypeError(f'AvgMaxPooling inputs must be a tensor or a tuple of tensors, got '
                        f'{type(inputs).__name__}')
