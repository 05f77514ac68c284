# Copyright (c) mlcl_plugin authors. All rights reserved.
"""BlockMoCo: MoCo with the image-aware loss on block views, image ids instead of labels."""
from typing import Dict, List, Optional, Union

import torch
from mmengine.dist import get_rank, get_world_size
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .base_moco import BaseMoCo
from .block_simsiam import split_block_views


@MODELS.register_module()
class BlockMoCo(BaseMoCo):
    """MoCo with the image-aware loss on ``BlockWiseAug`` views (no labels needed).

    The MoCo variant of the image-aware objective of Chen, arXiv 2506.23156: queries are the
    blocks of pipeline 1 (``q = f_q``, with gradient), keys the blocks of pipeline 2 (momentum
    encoder), and a query's positives are the keys of the **same image** (its own block and
    the image's other blocks: ``nb`` positives); every other key of the global batch and every
    queue entry is a negative. The head is called as
    ``head.loss(query, keys, query_ids, key_ids, pair_index=pair_index)`` (``ImageAwareHead``).

    The MoCo machinery is the one of :class:`MultiLabelMoCo` (momentum update before the key
    forward, optional shuffle-BN, keys gathered across ranks before the loss, queue used as in
    ``queue_mode``, checkpointed queue); the queue is a
    :class:`~mlcl_plugin.models.utils.LabelMemoryBank` of image ids (``num_classes=None``:
    ``queue_labels`` is a ``(K,)`` int64 buffer). Image ids are a running count of the images
    seen (``images_seen`` buffer, offset by rank), so ids never collide across steps, ranks or
    a resume, and queue entries are never positives.

    Any ``queue_len`` works (the ring buffer wraps around); a checkpoint with another
    ``queue_len`` is remapped on load. Keys are checked to be finite before they are enqueued
    (image ids need no label check).

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
            num_classes=None,  # one image id per queue entry
            queue_len=queue_len,
            feat_dim=feat_dim,
            momentum=momentum,
            queue_mode=queue_mode,
            shuffle_bn=shuffle_bn,
            # queue_labels only changes shape in a checkpoint of the other algorithm
            label_option='the algorithm (BlockMoCo queues image ids, MultiLabelMoCo labels)',
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.register_buffer('images_seen', torch.zeros((), dtype=torch.long))
        self._images_seen = 0  # host mirror: ids need no device sync

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._images_seen = int(self.images_seen)

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

        Raises:
            FloatingPointError: a key of the gathered batch is NaN or infinite (nothing is
                enqueued).
        """
        groups = split_block_views(inputs, data_samples, num_pipelines=2)
        num_images = inputs[0].shape[0]
        num_blocks = len(groups[0])
        im_q = torch.cat(groups[0], dim=0)  # N x 3 x H x W, N = nb * B, block-major
        im_k = torch.cat(groups[1], dim=0)
        world = get_world_size()
        first = self._images_seen + get_rank() * num_images
        ids = torch.arange(first, first + num_images, device=im_q.device).repeat(num_blocks)

        def describe_row(r):  # gathered rows are rank-major, then block-major
            per_rank = num_blocks * num_images
            block, image = divmod(r % per_rank, num_images)
            rank = f'rank {r // per_rank} ' if world > 1 else ''
            return f'{rank}image {image} block {block}'

        q = self.encode_queries(im_q)  # N x D
        k = self.encode_keys(im_k)  # N x D
        # (G*N + V) x D keys and (G*N + V) image ids, identical on every rank
        ref_keys, ref_ids, pair_index, used = self.reference_set(k, ids, describe_row)
        losses = self.head.loss(q, ref_keys, ids, ref_ids, pair_index=pair_index)
        self._images_seen += num_images * world
        self.images_seen.fill_(self._images_seen)
        losses['queue_used'] = torch.tensor(float(used), device=q.device)
        return losses
