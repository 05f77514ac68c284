# Copyright (c) mlcl_plugin authors. All rights reserved.
"""What MultiLabelMoCo and BlockMoCo share: a momentum key encoder and a LabelMemoryBank."""
from typing import Callable, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_rank
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp

from ..utils import LabelMemoryBank, MomentumEncoder

# Checkpoint names of the queue entries. The algorithms held these buffers themselves before
# the queue became a LabelMemoryBank; keeping the names keeps every checkpoint loadable both
# ways and the documented layout valid.
QUEUE_STATE_NAMES = ('queue', 'queue_labels', 'queue_ptr', 'queue_filled')


class BaseMoCo(BaseSelfSupervisor):
    """Base of the MoCo-style algorithms: momentum key encoder + label-aware queue.

    Owns the parts of a MoCo step that do not depend on what a label is: the key encoder
    (momentum-updated from ``backbone + neck`` before its forward), optional shuffle-BN, and
    the queue, a :class:`~mlcl_plugin.models.utils.LabelMemoryBank` that gathers keys and
    labels across ranks, returns the reference set and enqueues (checked) keys. Subclasses
    build the views, the queries and the labels of a step and call the head.

    The queue is the child module ``label_queue``; its state is saved under the names
    ``queue`` (K x D), ``queue_labels``, ``queue_ptr`` and ``queue_filled``, the same entries as
    checkpoints of earlier versions, which therefore load unchanged.

    Args:
        backbone (dict): backbone config.
        neck (dict): projection neck config.
        head (dict): head config, called as described in ``docs/design/heads_and_losses.md``.
        num_classes (int, optional): width of the multi-hot queue labels; None queues one
            integer id per key.
        queue_len (int): K, any positive number (batches wrap around the ring buffer).
        feat_dim (int): D, output width of the neck.
        momentum (float): mmengine EMA convention, ``1 - m`` of the MoCo papers.
        queue_mode (str): ``'full'`` or ``'always'`` (see :class:`LabelMemoryBank`).
        shuffle_bn (bool): MoCo's shuffle-BN of the key batch across ranks.
        label_option (str): the constructor option that sets the label width, for messages.
        pretrained (str, optional): checkpoint to initialise from.
        data_preprocessor (dict, optional): defaults to ``SelfSupDataPreprocessor``.
        init_cfg (dict | list, optional): initialisation config.
    """

    QUEUE_MODES = ('full', 'always')
    # K x C size of the label queue from which the head gets per-class key sums instead of the
    # labels (when its `uses_label_sums` is true); an instance may override it
    label_sums_min_entries = 1 << 17

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 num_classes: Optional[int],
                 queue_len: int,
                 feat_dim: int,
                 momentum: float,
                 queue_mode: str,
                 shuffle_bn: bool,
                 label_option: str,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        if isinstance(queue_len, bool) or not isinstance(queue_len, int) or queue_len < 1:
            raise ValueError(f'queue_len must be a positive int, got {queue_len!r}')
        if queue_mode not in self.QUEUE_MODES:
            raise ValueError(f'queue_mode must be one of {self.QUEUE_MODES}, got {queue_mode!r}')
        if not 0.0 < momentum < 1.0:
            raise ValueError(f'momentum (mmengine convention, 1 - m) must be in (0, 1), got '
                             f'{momentum}')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.queue_len = queue_len
        self.feat_dim = feat_dim
        self.queue_mode = queue_mode
        self.shuffle_bn = shuffle_bn
        self.encoder_k = MomentumEncoder(nn.Sequential(self.backbone, self.neck), momentum)
        self.label_queue = LabelMemoryBank(
            size=(queue_len, feat_dim),
            num_classes=num_classes,
            mode=queue_mode,
            name=type(self).__name__,
            options=('queue_len', 'feat_dim', label_option))
        self.label_queue.save_under_owner_names(self, QUEUE_STATE_NAMES)

    # Read-only views of the queue under its checkpoint names (and the host-side counters),
    # for code written against the buffers the algorithms used to own.
    @property
    def queue(self) -> torch.Tensor:
        """``K x D`` queue keys (the bank's buffer)."""
        return self.label_queue.keys

    @property
    def queue_labels(self) -> torch.Tensor:
        """Labels of the queue keys: ``K x C`` uint8 or ``(K,)`` int64 ids."""
        return self.label_queue.labels

    @property
    def queue_ptr(self) -> torch.Tensor:
        """Slot of the oldest entry (where the next key goes), a scalar tensor."""
        return self.label_queue.ptr

    @property
    def queue_filled(self) -> torch.Tensor:
        """Number of written entries (at most K), a scalar tensor."""
        return self.label_queue.filled

    @property
    def _ptr(self) -> int:
        return self.label_queue._ptr

    @property
    def _filled(self) -> int:
        return self.label_queue._filled

    def encode_queries(self, images: torch.Tensor) -> torch.Tensor:
        """``N x D`` L2-normalised queries of the trained encoder (with gradient)."""
        return F.normalize(self.neck(self.backbone(images))[0], dim=1)

    @torch.no_grad()
    def encode_keys(self, images: torch.Tensor) -> torch.Tensor:
        """``N x D`` L2-normalised keys of the momentum encoder, updated first (no gradient).

        The momentum update precedes the key forward, as in the MoCo reference; with
        ``shuffle_bn`` the batch is shuffled across ranks around the key encoder (a no-op on
        one process).
        """
        self.encoder_k.update_parameters(nn.Sequential(self.backbone, self.neck))
        if self.shuffle_bn:
            images, idx_unshuffle = batch_shuffle_ddp(images)
        keys = F.normalize(self.encoder_k(images)[0], dim=1)
        if self.shuffle_bn:
            keys = batch_unshuffle_ddp(keys, idx_unshuffle)
        return keys

    @property
    def uses_label_sums(self) -> bool:
        """Whether :meth:`reference_set` returns the reference labels as per-class key sums."""
        num_classes = self.label_queue.num_classes
        return (num_classes is not None and getattr(self.head, 'uses_label_sums', False)
                and self.queue_len * num_classes >= self.label_sums_min_entries)

    def reference_set(self,
                      keys: torch.Tensor,
                      labels: torch.Tensor,
                      describe_row: Optional[Callable[[int], str]] = None
                      ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """Gather, build the reference set and enqueue: the queue's one call of a step.

        Args:
            keys (Tensor): this rank's ``N x D`` keys (no gradient).
            labels (Tensor): their labels, ``N x C`` or ``(N,)``.
            describe_row (callable, optional): names row ``r`` of the gathered batch in the
                queue's error messages.

        Returns:
            tuple: reference keys ``(G*N + V) x D``, their labels (or their ``LabelSums`` when
            the head's ``uses_label_sums`` is true), ``pair_index`` (``(N,)``,
            the row of each local key among the reference keys: the gathered batch comes first,
            in rank order) and ``V``, the number of queue entries used.

        Raises:
            FloatingPointError: a key of the gathered batch is NaN or infinite (nothing is
                enqueued).
            ValueError: a multi-hot label is not 0 or 1 (nothing is enqueued).
        """
        used = self.label_queue.num_valid
        # A head whose positives depend on the label only (MulSupCon) takes per-class key sums,
        # which the queue maintains, instead of (G*N + V) x C labels, once the queue's labels
        # are large enough for that to pay (below, the few fixed-cost ops of the bookkeeping
        # cost more than the dense K x C product).
        ref_keys, ref_labels = self.label_queue(keys, labels, describe_row=describe_row,
                                                as_sums=self.uses_label_sums)
        num = keys.shape[0]
        first = get_rank() * num if self.label_queue.gather_distributed else 0
        pair_index = torch.arange(first, first + num, device=keys.device)
        return ref_keys, ref_labels, pair_index, used
