# Copyright (c) mlcl_plugin authors. All rights reserved.
"""MultiLabelMoCo: a momentum key encoder with a queue of keys *and their multi-hot labels*."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_world_size
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..utils import MomentumEncoder, gather_no_grad, multi_hot_from_samples
from ..utils.label_memory_bank import check_before_enqueue, fit_queue_state, write_ring


@MODELS.register_module()
class MultiLabelMoCo(BaseSelfSupervisor):
    """MoCo whose queue also stores the keys' multi-hot labels (MulSupCon pretraining).

    Implements the training step of MulSupCon (Zhang & Wu, "Multi-Label Supervised Contrastive
    Learning", AAAI-24, Sec. 3 / Eq. 4-5): queries ``q = f_q(view 1)`` are contrasted with the
    keys ``k = f_k(view 2)`` of the whole (global) batch plus a ring-buffer queue of earlier
    keys, and positives are defined by the labels stored next to every key. The algorithm owns
    the encoders, the queue and cross-rank gathering; the head owns similarity -> loss and is
    called as ``head.loss(query, keys, query_labels, key_labels)``, so any head with that
    contract (``MulSupConHead``, the image-aware head, a Lightly wrapper) plugs in.

    Step (B local batch, G ranks, K queue length, C classes, D feature width):

    1. momentum-update the key encoder from the query encoder (before its forward, as the
       reference);
    2. ``q``: ``B x D`` normalised, with gradient; ``k``: ``B x D`` normalised, no gradient
       (optionally with shuffle-BN across ranks as mmpretrain's MoCo);
    3. keys **and** labels of every rank are all-gathered (``G*B x D``, ``G*B x C``), so a
       query sees the same reference set on any number of ranks;
    4. reference set = gathered batch keys + the queue as it was before this step (its valid
       part, see ``queue_mode``); the head computes the loss;
    5. the gathered keys and labels are enqueued at the pointer.

    Differences from the reference code, by design: the queue is used from the step *after*
    it became full (the reference already uses it at the step it fills, when it still holds
    ``G*B`` never-written random entries with empty labels); keys are gathered across ranks
    before the loss (the reference is single-process); the queue is written as a ring buffer
    that wraps around, so any ``queue_len`` and any batch size work (the reference asserts
    that ``K`` is a multiple of the batch size because it writes one slice) and the queue
    always holds the most recent ``K`` keys in order.

    The queue (``queue`` K x D), its labels (``queue_labels`` K x C), the pointer and the
    fill count are buffers, so checkpoints carry them and ``--resume`` continues exactly.
    State that no longer fits is handled on load: another number of processes or a short
    last batch (``drop_last=False``) need nothing (the ring buffer takes any batch); another
    ``queue_len`` is remapped exactly (the newest ``min(written, K)`` keys kept in order, with
    a warning); another ``feat_dim`` or ``num_classes`` raises, saying how to proceed.

    Safety (one host sync per step, before the loss): the gathered keys must be finite and
    the labels binary before anything is enqueued. A NaN / inf key raises
    ``FloatingPointError`` (one NaN key in the queue would make every later loss NaN); a label
    other than 0/1 raises ``ValueError`` (soft targets, e.g. label smoothing or Mixup in
    ``gt_score``, would be truncated by the uint8 label queue, and MulSupCon's positive sets
    are defined by binary labels). Every rank checks the same gathered rows, so all ranks stop
    together. Add ``NonFiniteLossHook`` to ``custom_hooks`` to stop on a non-finite loss
    before the optimizer step and name the iteration.

    Args:
        backbone (dict): backbone config.
        neck (dict): projection neck config (e.g. ``MulSupConNeck``).
        head (dict): head config; ``loss(query, keys, query_labels, key_labels)``.
        num_classes (int): C, width of the multi-hot labels built from ``data_samples``.
        queue_len (int): K, any positive number (batches wrap around the ring buffer).
            Defaults to 2048 (reference default).
        feat_dim (int): D, output width of the neck. Defaults to 256.
        momentum (float): mmengine EMA convention, ``1 - m`` of the MoCo papers: 0.001
            means ``theta_k <- 0.999 theta_k + 0.001 theta_q``. Defaults to 0.001.
        queue_mode (str): ``'full'`` uses the queue only once every entry has been written
            (the reference); ``'always'`` uses the entries written so far from the start.
            Defaults to ``'full'``.
        shuffle_bn (bool): shuffle the key batch across ranks before the key encoder
            (MoCo's shuffle-BN); a no-op on one process. Defaults to False (the reference
            uses none).
        pretrained (str, optional): checkpoint to initialise from.
        data_preprocessor (dict, optional): defaults to ``SelfSupDataPreprocessor``.
        init_cfg (dict | list, optional): initialisation config.

    Note:
        With mmengine's EMA ``update_buffers=False`` the key encoder's BN running statistics
        are copied from the query encoder each step (both encoders normalise with batch
        statistics in training, so training is unaffected).
    """

    QUEUE_MODES = ('full', 'always')

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 num_classes: int,
                 queue_len: int = 2048,
                 feat_dim: int = 256,
                 momentum: float = 0.001,
                 queue_mode: str = 'full',
                 shuffle_bn: bool = False,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'num_classes must be a positive int, got {num_classes!r}')
        if not isinstance(queue_len, int) or queue_len < 1:
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
        self.num_classes = num_classes
        self.queue_len = queue_len
        self.feat_dim = feat_dim
        self.queue_mode = queue_mode
        self.shuffle_bn = shuffle_bn
        self.encoder_k = MomentumEncoder(
            nn.Sequential(self.backbone, self.neck), momentum)
        # Never-written entries are excluded by the fill count, so their values do not
        # matter; random unit vectors keep them harmless if inspected.
        self.register_buffer('queue', F.normalize(torch.randn(queue_len, feat_dim), dim=1))
        self.register_buffer('queue_labels',
                             torch.zeros(queue_len, num_classes, dtype=torch.uint8))
        self.register_buffer('queue_ptr', torch.zeros((), dtype=torch.long))
        self.register_buffer('queue_filled', torch.zeros((), dtype=torch.long))
        # Host-side mirrors of the two counters: slicing the queue with them needs no device
        # sync. They are refreshed from the buffers whenever a state dict is loaded.
        self._ptr = 0
        self._filled = 0

    # constructor options that set the queue length, key width and label width (messages)
    _QUEUE_OPTIONS = ('queue_len', 'feat_dim', 'num_classes')

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint written with another queue_len is remapped, another key or label width
        # raises: without this, torch skips the mismatched queue with a warning while the
        # counters load, and never-written entries are then read as keys.
        state_dict = fit_queue_state(
            state_dict, prefix, ('queue', 'queue_labels', 'queue_ptr', 'queue_filled'),
            (self.queue, self.queue_labels), type(self).__name__, self._QUEUE_OPTIONS)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._ptr = int(self.queue_ptr)
        self._filled = int(self.queue_filled)

    def _check_batch(self, keys: torch.Tensor, labels: torch.Tensor) -> None:
        """Finite keys and binary labels, before anything is computed from or stored in the
        queue. One host sync per step, the only one of this step (a loss function proper
        stays sync-free): the queue state it protects outlives the step."""
        check_before_enqueue(keys, labels, type(self).__name__, get_world_size())

    def _valid_queue(self) -> int:
        """Number of queue entries the loss may use at this step."""
        if self.queue_mode == 'full':
            return self.queue_len if self._filled >= self.queue_len else 0
        return self._filled

    @torch.no_grad()
    def _enqueue(self, keys: torch.Tensor, labels: torch.Tensor) -> None:
        """Write the gathered ``N x D`` keys and ``N x C`` labels at the pointer, wrapping
        around the end (checked by :meth:`_check_batch` first)."""
        n = keys.shape[0]
        self._ptr = write_ring((self.queue, self.queue_labels), (keys, labels), self._ptr)
        self._filled = min(self._filled + n, self.queue_len)
        self.queue_ptr.fill_(self._ptr)
        self.queue_filled.fill_(self._filled)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """One training step.

        Args:
            inputs (list[Tensor]): two views, each ``B x 3 x H x W`` (or ``B x F`` vectors).
            data_samples (list[DataSample]): with ``gt_label`` (indices) or ``gt_score``.

        Returns:
            dict[str, Tensor]: the head's losses (keys containing ``'loss'`` are summed) plus
            ``queue_used``, the number of queue entries in the reference set (logged only).

        Raises:
            FloatingPointError: a key of the gathered batch is NaN or infinite (nothing is
                enqueued).
            ValueError: a label is not 0 or 1, e.g. soft ``gt_score`` (nothing is enqueued).
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError('MultiLabelMoCo needs two views per sample: use MultiView('
                             'num_views=2, ...) in the pipeline')
        im_q, im_k = inputs[0], inputs[1]
        labels = multi_hot_from_samples(data_samples, self.num_classes, device=im_q.device)

        q = F.normalize(self.neck(self.backbone(im_q))[0], dim=1)  # B x D
        with torch.no_grad():
            self.encoder_k.update_parameters(nn.Sequential(self.backbone, self.neck))
            if self.shuffle_bn:
                im_k, idx_unshuffle = batch_shuffle_ddp(im_k)
            k = F.normalize(self.encoder_k(im_k)[0], dim=1)  # B x D
            if self.shuffle_bn:
                k = batch_unshuffle_ddp(k, idx_unshuffle)
            keys = gather_no_grad(k)  # G*B x D
            key_labels = gather_no_grad(labels)  # G*B x C
        self._check_batch(keys, key_labels)

        valid = self._valid_queue()
        if valid:
            # the queue as it was before this step (the enqueue below writes in place)
            ref_keys = torch.cat([keys, self.queue[:valid].clone()], dim=0)  # (G*B+V) x D
            ref_labels = torch.cat([key_labels, self.queue_labels[:valid].to(labels.dtype)])
        else:
            ref_keys, ref_labels = keys, key_labels
        losses = self.head.loss(q, ref_keys, labels, ref_labels)
        if isinstance(losses, torch.Tensor):
            losses = dict(loss=losses)
        self._enqueue(keys, key_labels)
        losses['queue_used'] = torch.tensor(float(valid), device=q.device)
        return losses
