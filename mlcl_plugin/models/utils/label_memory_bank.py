# Copyright (c) mlcl_plugin authors. All rights reserved.
"""A memory bank that stores every key together with its multi-hot labels.

Lightly's ``MemoryBankModule`` keeps keys only (its ``labels`` argument is documented "should
always be None"), so supervised contrastive losses cannot take positives from it. This bank is
the label-aware queue of :class:`~mlcl_plugin.models.selfsup.MultiLabelMoCo` as a plain
``nn.Module`` for hand-written training loops (Lightly models and transforms, plain PyTorch):
keys **and** labels are gathered across ranks before they are used and enqueued, so every rank
sees the same reference set whatever the number of processes.
"""
from typing import Sequence, Tuple

import torch
import torch.distributed as torch_dist
from mmpretrain.registry import MODELS
from torch import nn

from .gather import GatherLayer


def _world_size() -> int:
    if torch_dist.is_available() and torch_dist.is_initialized():
        return torch_dist.get_world_size()
    return 1


@torch.no_grad()
def _all_gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` of every rank along dim 0 in rank order (no gradient)."""
    parts = [torch.empty_like(x) for _ in range(torch_dist.get_world_size())]
    torch_dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


@MODELS.register_module()
class LabelMemoryBank(nn.Module):
    """Ring buffer of ``K`` keys (``K x D``) and their multi-hot labels (``K x C``).

    One call, ``ref_keys, ref_labels = bank(keys, labels)``:

    1. gathers this step's keys and labels from every rank (rank order), ``N = G*B`` rows; the
       keys keep their autograd graph through a gradient-carrying all-gather when they require
       grad (SimCLR-style keys from the trained encoder), the labels never need one;
    2. returns the reference set: the gathered batch followed by the valid bank entries as
       they were *before* this call (``N + V`` rows), ready for
       ``MulSupConLoss()(query, ref_keys, query_labels, ref_labels)``;
    3. with ``update=True``, writes the gathered (detached) keys and labels at the pointer,
       wrapping around the end of the buffer.

    This is exactly the reference set and queue update of ``MultiLabelMoCo`` (MulSupCon, Zhang &
    Wu, AAAI-24, Sec. 3), so a hand-written loop with this bank and ``MulSupConLoss`` trains
    the same objective. The buffers (``keys``, ``labels``, ``ptr``, ``filled``) are persistent:
    a ``state_dict`` carries the whole queue. Host-side copies of the two counters avoid any
    device sync per step.

    Under DDP, each rank's loss over its own queries is a per-rank mean; for the exact loss of
    the concatenated batch use ``MulSupConLoss.loss_terms`` and divide by
    ``mlcl_plugin.models.utils.global_mean_factor(count)`` (what ``MulSupConHead`` does).

    Args:
        size (tuple[int, int]): ``(K, D)``: number of stored keys and their width (Lightly's
            ``memory_bank_size`` convention). Any ``K`` works; batches wrap around.
        num_classes (int): ``C``, width of the multi-hot labels.
        gather_distributed (bool): gather keys and labels across ranks (when
            ``torch.distributed`` is initialised with more than one process). Defaults to True.
        mode (str): ``'full'`` returns the bank entries only once all ``K`` are written (the
            MulSupCon reference); ``'always'`` returns the entries written so far.
            Defaults to ``'full'``.

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from mlcl_plugin.models.losses import MulSupConLoss
        >>> from mlcl_plugin.models.utils import LabelMemoryBank
        >>> bank = LabelMemoryBank(size=(8, 16), num_classes=5, mode='always')
        >>> loss_fn = MulSupConLoss(temperature=0.1)
        >>> for _ in range(3):
        ...     q = F.normalize(torch.randn(4, 16), dim=1)  # B x D, from the query encoder
        ...     k = F.normalize(torch.randn(4, 16), dim=1)  # B x D, momentum keys
        ...     y = (torch.rand(4, 5) < 0.4).float()        # B x C multi-hot
        ...     ref_k, ref_y = bank(k, y)                   # (B + V) x D, (B + V) x C
        ...     loss = loss_fn(q, ref_k, y, ref_y)
        >>> ref_k.shape, bank.num_valid
        (torch.Size([12, 16]), 8)
    """

    MODES = ('full', 'always')

    def __init__(self,
                 size: Sequence[int],
                 num_classes: int,
                 gather_distributed: bool = True,
                 mode: str = 'full') -> None:
        super().__init__()
        size = tuple(size) if isinstance(size, (list, tuple)) else (size, )
        if (len(size) != 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1
                                  for s in size)):
            raise ValueError(f'size must be (num_keys, dim) with two positive ints, got {size!r}')
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'num_classes must be a positive int, got {num_classes!r}')
        if mode not in self.MODES:
            raise ValueError(f'mode must be one of {self.MODES}, got {mode!r}')
        self.size = size
        self.num_classes = num_classes
        self.gather_distributed = bool(gather_distributed)
        self.mode = mode
        # Never-written rows are excluded by the fill count; random unit vectors keep them
        # harmless if inspected.
        self.register_buffer('keys', nn.functional.normalize(torch.randn(*size), dim=1))
        self.register_buffer('labels', torch.zeros(size[0], num_classes, dtype=torch.uint8))
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))
        self.register_buffer('filled', torch.zeros((), dtype=torch.long))
        self._ptr = 0
        self._filled = 0

    def extra_repr(self) -> str:
        return (f'size={self.size}, num_classes={self.num_classes}, '
                f'gather_distributed={self.gather_distributed}, mode={self.mode!r}')

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._ptr = int(self.ptr)
        self._filled = int(self.filled)

    @property
    def num_valid(self) -> int:
        """Number of bank entries the next call returns after the batch."""
        if self.mode == 'full':
            return self.size[0] if self._filled >= self.size[0] else 0
        return self._filled

    def gather(self, keys: torch.Tensor,
               labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Keys and labels of every rank, ``G*B x D`` and ``G*B x C`` (identity on one process).

        The keys keep their gradient (gradient-carrying all-gather) when they require grad.
        """
        if not self.gather_distributed or _world_size() == 1:
            return keys, labels
        if keys.requires_grad:
            all_keys = torch.cat(GatherLayer.apply(keys), dim=0)
        else:
            all_keys = _all_gather(keys)
        # gloo cannot all-gather bool tensors
        as_bool = labels.dtype == torch.bool
        all_labels = _all_gather(labels.to(torch.uint8) if as_bool else labels)
        return all_keys, (all_labels.bool() if as_bool else all_labels)

    def forward(self,
                keys: torch.Tensor,
                labels: torch.Tensor,
                update: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
        """Reference set of this step, then enqueue.

        Args:
            keys (Tensor): this rank's keys, ``B x D`` (normalise them first for cosine
                similarities).
            labels (Tensor): their multi-hot labels, ``B x C`` (0/1, any dtype).
            update (bool): write the gathered batch into the bank. Defaults to True.

        Returns:
            tuple[Tensor, Tensor]: reference keys ``(G*B + V) x D`` (dtype of ``keys``) and
            labels ``(G*B + V) x C`` (dtype of ``labels``): the gathered batch, then the ``V``
            valid bank entries as they were before this call.
        """
        if keys.dim() != 2 or keys.shape[1] != self.size[1]:
            raise ValueError(f'keys must be B x {self.size[1]} (bank size {self.size}), got '
                             f'{tuple(keys.shape)}')
        if labels.shape != (keys.shape[0], self.num_classes):
            raise ValueError(f'labels must be B x C = {keys.shape[0]} x {self.num_classes} '
                             f'(multi-hot), got {tuple(labels.shape)}')
        batch_keys, batch_labels = self.gather(keys, labels)  # N x D, N x C
        valid = self.num_valid
        if valid:
            # torch.cat copies, so the in-place enqueue below cannot change the result
            ref_keys = torch.cat([batch_keys, self.keys[:valid].to(keys.dtype)])
            ref_labels = torch.cat([batch_labels, self.labels[:valid].to(labels.dtype)])
        else:
            ref_keys, ref_labels = batch_keys, batch_labels
        if update:
            self.enqueue(batch_keys, batch_labels)
        return ref_keys, ref_labels

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor, labels: torch.Tensor) -> None:
        """Write ``N x D`` keys and ``N x C`` labels (already gathered) at the pointer, wrapping
        around; with ``N > K`` only the last ``K`` rows are kept."""
        num, cap = keys.shape[0], self.size[0]
        first = max(num - cap, 0)
        idx = (torch.arange(first, num, device=self.keys.device) + self._ptr) % cap
        self.keys.index_copy_(0, idx, keys[first:].detach().to(self.keys.dtype))
        self.labels.index_copy_(0, idx, labels[first:].detach().to(self.labels.dtype))
        self._ptr = (self._ptr + num) % cap
        self._filled = min(self._filled + num, cap)
        self.ptr.fill_(self._ptr)
        self.filled.fill_(self._filled)
