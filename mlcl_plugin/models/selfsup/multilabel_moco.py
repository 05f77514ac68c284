# Copyright (c) mlcl_plugin authors. All rights reserved.
"""MultiLabelMoCo: a momentum key encoder with a queue of keys *and their multi-hot labels*."""
from typing import Dict, List, Optional, Union

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..utils import multi_hot_from_samples
from .base_moco import BaseMoCo


@MODELS.register_module()
class MultiLabelMoCo(BaseMoCo):
    """MoCo whose queue also stores the keys' multi-hot labels (MulSupCon pretraining).

    Implements the training step of MulSupCon (Zhang & Wu, "Multi-Label Supervised Contrastive
    Learning", AAAI-24, Sec. 3 / Eq. 4-5): queries ``q = f_q(view 1)`` are contrasted with the
    keys ``k = f_k(view 2)`` of the whole (global) batch plus a ring-buffer queue of earlier
    keys, and positives are defined by the labels stored next to every key. The algorithm owns
    the encoders, the queue (a :class:`~mlcl_plugin.models.utils.LabelMemoryBank`) and
    cross-rank gathering; the head owns similarity -> loss and is called as
    ``head.loss(query, keys, query_labels, key_labels, pair_index=pair_index)`` (the head
    contract of ``docs/design/heads_and_losses.md``), so any head with that contract
    (``MulSupConHead``, ``ImageAwareHead``, ``LightlyLossHead``) plugs in.

    Step (B local batch, G ranks, K queue length, C classes, D feature width):

    1. momentum-update the key encoder from the query encoder (before its forward, as the
       reference);
    2. ``q``: ``B x D`` normalised, with gradient; ``k``: ``B x D`` normalised, no gradient
       (optionally with shuffle-BN across ranks as mmpretrain's MoCo);
    3. keys **and** labels of every rank are all-gathered (``G*B x D``, ``G*B x C``), so a
       query sees the same reference set on any number of ranks;
    4. reference set = gathered batch keys + the queue as it was before this step (its valid
       part, see ``queue_mode``); the gathered keys and labels are checked and enqueued at the
       pointer;
    5. the head computes the loss of the local queries against the reference set.

    Differences from the reference code, by design: the queue is used from the step *after*
    it became full (the reference already uses it at the step it fills, when it still holds
    ``G*B`` never-written random entries with empty labels); keys are gathered across ranks
    before the loss (the reference is single-process); the queue is written as a ring buffer
    that wraps around, so any ``queue_len`` and any batch size work (the reference asserts
    that ``K`` is a multiple of the batch size because it writes one slice) and the queue
    always holds the most recent ``K`` keys in order.

    The queue (``queue`` K x D), its labels (``queue_labels`` K x C), the pointer and the
    fill count are persistent (checkpoint entries ``queue``, ``queue_labels``, ``queue_ptr``,
    ``queue_filled``), so checkpoints carry them and ``--resume`` continues exactly.
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
        head (dict): head config; ``loss(query, keys, query_labels, key_labels,
            pair_index=...)`` returning ``dict(loss=..., ...)``.
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

    # Classes from which, with the queue's per-class sums on CPU, the batch's labels are handed
    # on as sparse COO: below, one nonzero over the small B x C labels costs less than the
    # sparse bookkeeping (measured side by side in tools/benchmarks/benchmark_mulsupcon_head.py);
    # an instance may override it
    sparse_labels_min_classes = 1000

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
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'num_classes must be a positive int, got {num_classes!r}')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            num_classes=num_classes,
            queue_len=queue_len,
            feat_dim=feat_dim,
            momentum=momentum,
            queue_mode=queue_mode,
            shuffle_bn=shuffle_bn,
            label_option='num_classes',
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.num_classes = num_classes

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
        # With per-class key sums on CPU and many classes, the queue and the head read only the
        # batch's stored labels: sparse labels spare them every pass over B x C. Elsewhere the
        # dense form avoids the host syncs of sparse indexing.
        sparse = (self.uses_label_sums and im_q.device.type == 'cpu'
                  and self.num_classes >= self.sparse_labels_min_classes)
        labels = multi_hot_from_samples(data_samples, self.num_classes, device=im_q.device,
                                        sparse=sparse)
        q = self.encode_queries(im_q)  # B x D
        k = self.encode_keys(im_k)  # B x D
        # (G*B + V) x D keys and (G*B + V) x C labels, identical on every rank
        ref_keys, ref_labels, pair_index, used = self.reference_set(k, labels)
        losses = self.head.loss(q, ref_keys, labels, ref_labels, pair_index=pair_index)
        losses['queue_used'] = torch.tensor(float(used), device=q.device)
        return losses
