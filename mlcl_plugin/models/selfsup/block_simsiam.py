# Copyright (c) mlcl_plugin authors. All rights reserved.
"""SimSiam on block views plus the image-aware term (the faithful arXiv 2506.23156 algorithm)."""
import copy
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import get_rank
from mmpretrain.models.selfsup import SimSiam
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..heads import SimSiamHead
from ..utils import gather_no_grad, gather_with_grad

# the image-aware term of the paper's code: tau 0.3, tau0 0.07, log of the positive sum, weight 4
REFERENCE_IA_HEAD = dict(type='ImageAwareHead', loss_weight=4.0)


def _layout(sample, key: str) -> Optional[np.ndarray]:
    if sample is None or key not in sample:
        return None
    value = sample.get(key)
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value).reshape(-1)


def split_block_views(inputs: Sequence[torch.Tensor],
                      data_samples: Optional[List[DataSample]],
                      num_pipelines: int = 2) -> List[List[torch.Tensor]]:
    """Group ``BlockWiseAug`` views by pipeline, each group ordered by block.

    When the samples carry ``pipeline_idx`` and ``block_idx`` (``PackInputs(algorithm_keys=
    ['block_idx', 'pipeline_idx'])``), the layout is read from the first sample (every
    sample of a ``BlockWiseAug`` pipeline has the same layout) and checked; otherwise the views
    are taken as pipeline-major (``BlockWiseAug``'s order) in ``num_pipelines`` equal groups.

    Args:
        inputs (list[Tensor]): the V views, each ``B x C x H x W``.
        data_samples (list[DataSample], optional): the batch's samples.
        num_pipelines (int): number of pipelines the algorithm expects. Defaults to 2.

    Returns:
        list[list[Tensor]]: ``num_pipelines`` lists of ``num_blocks`` views; entry ``[p][b]``
        is pipeline ``p`` on block ``b``.

    Raises:
        ValueError: when the views do not form ``num_pipelines`` x ``num_blocks`` views.
    """
    if not isinstance(inputs, (list, tuple)) or len(inputs) < num_pipelines:
        raise ValueError(f'expected a list of block views (BlockWiseAug with {num_pipelines} '
                         f'pipelines in the data pipeline), got '
                         f'{len(inputs) if isinstance(inputs, (list, tuple)) else type(inputs)}')
    num_views = len(inputs)
    first = data_samples[0] if data_samples else None
    pipe, block = _layout(first, 'pipeline_idx'), _layout(first, 'block_idx')
    if pipe is None or block is None:
        if num_views % num_pipelines:
            raise ValueError(f'{num_views} views cannot be split into {num_pipelines} '
                             'pipelines of equal size')
        per = num_views // num_pipelines
        return [list(inputs[p * per:(p + 1) * per]) for p in range(num_pipelines)]
    if len(pipe) != num_views or len(block) != num_views:
        raise ValueError(f'the samples describe {len(pipe)} views (pipeline_idx) but the batch '
                         f'has {num_views}')
    if sorted(set(pipe.tolist())) != list(range(num_pipelines)):
        raise ValueError(f'expected views of {num_pipelines} pipelines, got pipeline_idx '
                         f'{pipe.tolist()}: set BlockWiseAug(transforms=[...]) with '
                         f'{num_pipelines} pipelines')
    groups = []
    for p in range(num_pipelines):
        views = np.flatnonzero(pipe == p)
        order = views[np.argsort(block[views], kind='stable')]
        if block[order].tolist() != list(range(len(views))) or (
                groups and len(order) != len(groups[0])):
            raise ValueError(f'pipeline {p} does not cover every block exactly once '
                             f'(block_idx {block.tolist()}, pipeline_idx {pipe.tolist()})')
        groups.append([inputs[v] for v in order.tolist()])
    return groups


@MODELS.register_module()
class BlockSimSiam(SimSiam):
    """SimSiam on the blocks of ``BlockWiseAug`` plus the image-aware loss.

    The training step of "Self-Supervised Contrastive Learning for Multi-Label Images"
    (Jiale Chen, arXiv 2506.23156). With ``B`` local images and ``nb`` blocks (4), the
    views of pipeline 1 are stacked block-major into ``N = nb * B`` crops (block 0 of every
    image, then block 1, ...) and likewise pipeline 2, so row ``r`` of both is the same block
    of the same image. Then

    * ``z = neck(backbone(x))`` (the projector; mmpretrain's SimSiam ``NonLinearNeck``) and
      ``p = head(z)`` (the predictor of :class:`~mlcl_plugin.models.heads.SimSiamHead`) for
      both pipelines;
    * SimSiam term ``1/2 [head.loss(p1, z2) + head.loss(p2, z1)]`` (minus the mean cosine
      similarities with ``CosineSimilarityLoss``), **without stop-gradient** as the paper's
      code (``stop_gradient=True`` restores SimSiam's ``z.detach()``);
    * image-aware term ``1/2 [l(F1) + l(F2)]``, ``F1 = normalise([p1; z2])``,
      ``F2 = normalise([p2; z1])``, with image ids as labels (``ImageAwareHead``, weight 4
      in the configs: total = SimSiam + 4 x image-aware).

    Across ranks (``ia_scope``): the paper's code all-gathers the crops, shuffles blocks over
    GPUs with one permutation and contrasts each GPU's share locally, so its loss depends on
    the number of GPUs. ``ia_scope='local'`` (the default, as the paper's code) contrasts each
    rank's own rows among themselves and averages per rank, without a collective; the blocks
    are not shuffled across ranks, so all views of an image stay on one rank and keep their
    positives. ``ia_scope='global'`` gathers the rows of **all** ranks (with gradient; image
    ids offset by rank so they are globally unique) and each rank contrasts its own rows
    against them (``ia_head.loss(rows, all_rows, ids, all_ids, self_index=...)``, the head
    contract of ``docs/design/heads_and_losses.md``), which is the single-GPU loss for any
    world size: the DDP-averaged loss and gradients equal one process on the concatenated
    batch (for batch-independent layers; with SyncBN the BN statistics are global in both).
    On one process both scopes are the same loss. Every rank must hold the same number of
    images (``drop_last=True``).

    The image-aware term treats ``p`` and ``z`` rows alike and does not detach ``z`` (the
    paper's code); ``stop_gradient`` only concerns the SimSiam term.

    Args:
        backbone (dict): backbone config.
        neck (dict): projector config (e.g. ``NonLinearNeck`` with 3 layers, last BN without
            affine).
        head (dict): ``SimSiamHead`` config (predictor + similarity loss). The stock SimSiam
            head config, ``LatentPredictHead`` with the same arguments, is built as a
            ``SimSiamHead`` (same parameter names), so a SimSiam config becomes a BlockSimSiam
            config by changing the model type only.
        ia_head (dict, optional): ``ImageAwareHead`` config; None disables the term (SimSiam
            on blocks). Defaults to ``dict(type='ImageAwareHead', loss_weight=4.0)``.
        stop_gradient (bool): detach ``z`` in the SimSiam term (textbook SimSiam). Defaults
            to False (the paper's code).
        ia_scope (str): ``'local'`` (per-rank contrast, the paper's code) or ``'global'``
            (every rank's rows are keys of every rank's queries). Defaults to ``'local'``.
        pretrained (str, optional): checkpoint to initialise from.
        data_preprocessor (dict, optional): defaults to ``SelfSupDataPreprocessor``.
        init_cfg (dict | list, optional): initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 ia_head: Optional[dict] = REFERENCE_IA_HEAD,
                 stop_gradient: bool = False,
                 ia_scope: str = 'local',
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        if isinstance(head, dict) and str(head.get('type', '')).split('.')[-1] == \
                'LatentPredictHead':
            # the stock SimSiam head config: same arguments and parameter names
            head = dict(head, type='SimSiamHead')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if not isinstance(self.head, SimSiamHead):
            raise TypeError(f'BlockSimSiam needs a SimSiamHead (or a LatentPredictHead config, '
                            f'built as one), got {type(self.head).__name__}')
        if ia_head is not None and not isinstance(ia_head, torch.nn.Module):
            ia_head = MODELS.build(copy.deepcopy(ia_head))
        if ia_scope not in ('local', 'global'):
            raise ValueError(f"ia_scope must be 'local' or 'global', got {ia_scope!r}")
        self.ia_head = ia_head
        self.stop_gradient = bool(stop_gradient)
        self.ia_scope = ia_scope

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """One training step.

        Args:
            inputs (list[Tensor]): the ``2 x nb`` block views of ``BlockWiseAug``, each
                ``B x 3 x H x W``.
            data_samples (list[DataSample]): with ``block_idx`` / ``pipeline_idx`` when
                packed (used to check the view layout).

        Returns:
            dict[str, Tensor]: ``loss_simsiam``, ``loss_ia`` (weighted; both summed by
            mmengine) and ``ia_positives`` (mean positives per anchor, logged only).
        """
        groups = split_block_views(inputs, data_samples, num_pipelines=2)
        num_images = inputs[0].shape[0]
        num_blocks = len(groups[0])
        x1 = torch.cat(groups[0], dim=0)  # N x 3 x H x W, N = nb * B, block-major
        x2 = torch.cat(groups[1], dim=0)

        z1 = self.neck(self.backbone(x1))[0]  # N x D
        z2 = self.neck(self.backbone(x2))[0]
        p1, p2 = self.head(z1), self.head(z2)  # N x D predictions
        t1, t2 = (z1.detach(), z2.detach()) if self.stop_gradient else (z1, z2)
        loss_sim = 0.5 * (self.head.loss(p1, t2)['loss'] + self.head.loss(p2, t1)['loss'])
        losses = dict(loss_simsiam=loss_sim)
        if self.ia_head is None:
            return losses

        local = self.ia_scope == 'local'
        # image id of every row: globally unique across ranks (same local B on every rank)
        first = 0 if local else get_rank() * num_images
        ids = torch.arange(first, first + num_images, device=z1.device).repeat(num_blocks)
        ids = torch.cat([ids, ids])  # 2N: [p rows; z rows]
        rows = ids.shape[0]
        if local:
            all_ids = ids
            self_index = torch.arange(rows, device=z1.device)
        else:
            all_ids = gather_no_grad(ids)  # G*2N
            # each local row's own copy among the gathered rows (rank order)
            self_index = torch.arange(get_rank() * rows, (get_rank() + 1) * rows,
                                      device=z1.device)
        outs = []
        for f in (torch.cat([p1, z2], dim=0), torch.cat([p2, z1], dim=0)):
            f = F.normalize(f, dim=1)  # 2N x D
            # global: gathered with gradient, every rank's rows are keys of every rank's queries
            keys = f if local else gather_with_grad(f)
            outs.append(self.ia_head.loss(f, keys, ids, all_ids, self_index=self_index,
                                          scope=self.ia_scope))
        losses['loss_ia'] = 0.5 * (outs[0]['loss'] + outs[1]['loss'])
        losses['ia_positives'] = outs[0]['positives_per_anchor']
        return losses
