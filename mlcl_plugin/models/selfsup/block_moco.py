# Copyright (c) mlcl_plugin authors. All rights reserved.
"""MultiLabelMoCo on block views: image ids instead of labels, image-aware head."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_rank, get_world_size
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..utils import gather_no_grad
from ..utils.label_memory_bank import check_before_enqueue
from .block_simsiam import split_block_views
from .multilabel_moco import MultiLabelMoCo


@MODELS.register_module()
class BlockMoCo(MultiLabelMoCo):
    """MoCo with the image-aware loss on ``BlockWiseAug`` views (no labels needed).

    The MoCo variant of the image-aware objective of arXiv 2506.23156: queries are the blocks
    of pipeline 1 (``q = f_q``, with gradient), keys the blocks of pipeline 2 (momentum
    encoder), and a query's positives are the keys of the **same image** (its own block and
    the image's other blocks: ``nb`` positives); every other key of the global batch and every
    queue entry is a negative. The head is called as
    ``head.loss(query, keys, query_ids, key_ids)`` (``ImageAwareHead``).

    Everything else is :class:`MultiLabelMoCo` (momentum update before the key forward,
    optional shuffle-BN, keys gathered across ranks before the loss, queue used as in
    ``queue_mode``, checkpointed queue), with the queue's label matrix replaced by the
    keys' image ids: ``queue_labels`` is a ``(K,)`` int64 buffer here. Image ids are a running
    count of the images seen (``images_seen`` buffer, offset by rank), so ids never collide
    across steps, ranks or a resume, and queue entries are never positives.

    Any ``queue_len`` works (the ring buffer wraps around); a checkpoint with another
    ``queue_len`` is remapped on load, as in :class:`MultiLabelMoCo`. Keys are checked to be
    finite before they are enqueued (image ids need no label check).

    Args:
        backbone (dict): backbone config.
        neck (dict): projection neck config (e.g. ``MoCoV2Neck``).
        head (dict): ``ImageAwareHead`` config.
        queue_len (int): K. Defaults to 65536.
        feat_dim (int): D, output width of the neck. Defaults to 128.
        momentum (float): mmengine EMA convention (``1 - m``). Defaults to 0.001.
        queue_mode (str): ``'full'`` or ``'always'``, see :class:`MultiLabelMoCo`.
            Defaults to ``'full'``.
        shuffle_bn (bool): MoCo's shuffle-BN of the key batch across ranks. Defaults to
            False.
        pretrained (str, optional): checkpoint to initialise from.
        data_preprocessor (dict, optional): defaults to ``SelfSupDataPreprocessor``.
        init_cfg (dict | list, optional): initialisation config.
    """

    # queue_labels holds one image id per entry: its shape only differs in a checkpoint of
    # another algorithm (messages of the state-dict check)
    _QUEUE_OPTIONS = ('queue_len', 'feat_dim',
                      'the algorithm (BlockMoCo queues image ids, MultiLabelMoCo labels)')

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 momentum: float = 0.001,
                 queue_mode: str = 'full',
                 shuffle_bn: bool = False,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            num_classes=1,  # unused: the queue stores image ids, not labels
            queue_len=queue_len,
            feat_dim=feat_dim,
            momentum=momentum,
            queue_mode=queue_mode,
            shuffle_bn=shuffle_bn,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.num_classes = None  # no labels (keeps MultiLabelClassCheckHook out of the way)
        # the image id of every queue entry (never-written entries are excluded by the fill
        # count; -1 would never be a positive anyway)
        self.register_buffer('queue_labels', torch.full((queue_len, ), -1, dtype=torch.long))
        self.register_buffer('images_seen', torch.zeros((), dtype=torch.long))
        self._images_seen = 0  # host mirror: ids need no device sync
        self._num_blocks = 1  # blocks per image of the current step (error messages only)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._images_seen = int(self.images_seen)

    def _check_batch(self, keys: torch.Tensor, labels: torch.Tensor) -> None:
        """Finite keys before the enqueue (one host sync per step); image ids are not
        multi-hot labels, so they are not checked for 0/1."""
        world = get_world_size()
        per_rank = keys.shape[0] // world
        images = per_rank // self._num_blocks

        def describe_row(r):  # rows are rank-major, then block-major
            block, image = divmod(r % per_rank, images)
            rank = f'rank {r // per_rank} ' if world > 1 else ''
            return f'{rank}image {image} block {block}'

        check_before_enqueue(keys, labels, type(self).__name__, world, binary_labels=False,
                             describe_row=describe_row)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """One training step.

        Args:
            inputs (list[Tensor]): the ``2 x nb`` block views of ``BlockWiseAug``, each
                ``B x 3 x H x W``.
            data_samples (list[DataSample]): with ``block_idx`` / ``pipeline_idx`` when
                packed (used to check the view layout); labels are not used.

        Returns:
            dict[str, Tensor]: the head's losses plus ``queue_used`` (logged only).
        """
        groups = split_block_views(inputs, data_samples, num_pipelines=2)
        num_images = inputs[0].shape[0]
        num_blocks = len(groups[0])
        self._num_blocks = num_blocks  # for the messages of _check_batch
        im_q = torch.cat(groups[0], dim=0)  # N x 3 x H x W, N = nb * B, block-major
        im_k = torch.cat(groups[1], dim=0)
        first = self._images_seen + get_rank() * num_images
        ids = torch.arange(first, first + num_images, device=im_q.device).repeat(num_blocks)

        q = F.normalize(self.neck(self.backbone(im_q))[0], dim=1)  # N x D
        with torch.no_grad():
            self.encoder_k.update_parameters(nn.Sequential(self.backbone, self.neck))
            if self.shuffle_bn:
                im_k, idx_unshuffle = batch_shuffle_ddp(im_k)
            k = F.normalize(self.encoder_k(im_k)[0], dim=1)  # N x D
            if self.shuffle_bn:
                k = batch_unshuffle_ddp(k, idx_unshuffle)
            keys = gather_no_grad(k)  # G*N x D
            key_ids = gather_no_grad(ids)  # G*N
        self._check_batch(keys, key_ids)

        valid = self._valid_queue()
        if valid:
            # the queue as it was before this step (the enqueue below writes in place)
            ref_keys = torch.cat([keys, self.queue[:valid].clone()], dim=0)  # (G*N+V) x D
            ref_ids = torch.cat([key_ids, self.queue_labels[:valid].clone()])
        else:
            ref_keys, ref_ids = keys, key_ids
        losses = self.head.loss(q, ref_keys, ids, ref_ids)
        if isinstance(losses, torch.Tensor):
            losses = dict(loss=losses)
        self._enqueue(keys, key_ids)
        self._images_seen += num_images * get_world_size()
        self.images_seen.fill_(self._images_seen)
        losses['queue_used'] = torch.tensor(float(valid), device=q.device)
        return losses
