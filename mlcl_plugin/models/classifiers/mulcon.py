# Copyright (c) mlcl_plugin authors. All rights reserved.
"""MulCon classifier (Dao et al., arXiv 2107.11626): BCE, then BCE + label-level contrast."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..utils import gather_no_grad, gather_with_grad, multi_hot_from_samples


@MODELS.register_module()
class LabelProjector(BaseModule):
    """Projection of every label embedding: ``Linear -> ReLU -> Linear`` on the last dim.

    MulCon stage 2 projects each label-level embedding (``E = 1024 -> 1024 -> 128``) before the
    contrastive loss (Dao et al., arXiv 2107.11626). Applied to ``... x E`` tensors,
    so ``B x L x E`` gives ``B x L x D`` with one batched product (no loop over labels).
    Weights normal(0, 0.02), biases 0, as the reference's non-pretrained parts.

    Args:
        in_channels (int): embedding width ``E``.
        hid_channels (int, optional): hidden width; ``None`` means ``in_channels``.
        out_channels (int): projection width ``D``. Defaults to 128.
        init_cfg (dict, optional): defaults to normal(0, 0.02) on the Linear layers.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: Optional[int] = None,
                 out_channels: int = 128,
                 init_cfg: Optional[dict] = None) -> None:
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Linear', std=0.02, bias=0.)
        super().__init__(init_cfg=init_cfg)
        hid_channels = in_channels if hid_channels is None else hid_channels
        for name, value in (('in_channels', in_channels), ('hid_channels', hid_channels),
                            ('out_channels', out_channels)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f'projector {name} must be a positive int, got {value!r}')
        self.fc1 = nn.Linear(in_channels, hid_channels)
        self.fc2 = nn.Linear(hid_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``... x E`` -> ``... x D`` (not normalised)."""
        return self.fc2(torch.relu(self.fc1(x)))


@MODELS.register_module()
class MulConClassifier(ImageClassifier):
    """MulCon: label-level embeddings trained with BCE, then BCE + label-level contrast.

    Dao, Zhao, Phung, Cai, "Multi-Label Image Classification with Contrastive Learning",
    arXiv 2107.11626 (journal version: "Contrastively enforcing distinctiveness for
    multi-label image classification", Neurocomputing 2023).
    A thin :class:`mmpretrain.models.classifiers.ImageClassifier`: backbone ->
    :class:`LabelWiseAttentionNeck` (``B x L x E``) -> :class:`LabelWiseLinearClsHead` (logits
    ``B x L``, BCE, ``predict`` with sigmoid ``pred_score``). Inference, ``mode='tensor'``,
    ``extract_feat`` and the mmpretrain inferencers are the stock ones (one view).

    * **Stage 1** (``contrast_loss=None``): the loss is the head's BCE only, i.e. exactly
      :meth:`ImageClassifier.loss`. Use ``loss=dict(type='ClassMeanBCELoss')`` in the head for
      the reference's mean BCE.
    * **Stage 2** (``contrast_loss`` set): ``V >= 2`` augmented views per image (``MultiView``
      in the pipeline; :class:`MultiViewClsDataPreprocessor` keeps them as a list). The views
      are concatenated into one ``V*B`` batch (all first views, then all second views, as the
      reference), labels duplicated. Loss::

          loss_cls = BCE over the V*B rows (the head's loss)
          loss_con = contrast_weight * L_con(normalize(projector(g)), labels)

      with ``g`` the ``V*B x L x E`` label embeddings and ``L_con`` the SupCon ``L_out`` over
      the present labels (:class:`LabelContrastiveLoss`, tau 0.2), the batch contrasted with
      itself: ``L_con(z, z, y, y, self_index=arange(V*B))`` in the plugin's loss call. The
      weights come from a stage-1 checkpoint through ``load_from`` (the projector is new).

    Distributed training: the reference (DataParallel) contrasts the whole global batch. Here
    the projected embeddings are all-gathered with gradient (and the labels without) before
    the loss, so every rank computes the contrastive loss of the global batch; the gradient
    that :class:`GatherLayer` returns to each rank is the sum over ranks, which DDP's averaging
    turns back into the gradient of the global loss. BCE is a per-sample mean, so DDP's average
    of equal-sized local batches is the global mean. Every rank must hold the same number of
    images (``drop_last=True``). The contrast matrix is computed redundantly on each rank; it
    is small next to the backbone (``V*B*L`` entries, e.g. 48 x 80 = 3840 on COCO).

    Args:
        backbone (dict): backbone config (e.g. ResNet-101, ``out_indices=(3, )``).
        neck (dict): label-wise attention neck config (``B x L x E`` output).
        head (dict): per-label classifier config (``LabelWiseLinearClsHead``).
        projector (dict, optional): kwargs of :class:`LabelProjector` other than
            ``in_channels`` (taken from ``head.in_channels``), e.g.
            ``dict(hid_channels=1024, out_channels=128)``. ``None`` with a ``contrast_loss``
            means ``dict(out_channels=128)``; a projector without ``contrast_loss`` is an
            error (it would never be trained).
        contrast_loss (dict, optional): config of the label-level contrastive loss, e.g.
            ``dict(type='LabelContrastiveLoss', temperature=0.2)``; ``None`` is stage 1.
        contrast_weight (float): weight of the contrastive term. Defaults to 0.5 (the paper).
        gather (bool): all-gather the projected embeddings across ranks for the contrast (see
            above). Defaults to True; a no-op on one process.
        pretrained, train_cfg, init_cfg: as :class:`ImageClassifier`.
        data_preprocessor (dict, optional): defaults to ``MultiViewClsDataPreprocessor``.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 projector: Optional[dict] = None,
                 contrast_loss: Optional[dict] = None,
                 contrast_weight: float = 0.5,
                 gather: bool = True,
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = {}
        if isinstance(data_preprocessor, dict):
            data_preprocessor.setdefault('type', 'MultiViewClsDataPreprocessor')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        for name in ('num_classes', 'in_channels'):
            if not hasattr(self.head, name):
                raise ValueError(f'MulConClassifier needs a label-wise head with `{name}` '
                                 f'(e.g. LabelWiseLinearClsHead), got {type(self.head).__name__}')
        if contrast_loss is None:
            if projector is not None:
                raise ValueError('MulConClassifier: `projector` is set but `contrast_loss` is '
                                 'None (stage 1); the projector would never be trained')
            self.projector = None
            self.contrast_loss = None
        else:
            if isinstance(contrast_weight, bool) or not float(contrast_weight) >= 0:
                raise ValueError(f'contrast_weight must be >= 0, got {contrast_weight!r}')
            projector = dict(projector or {})
            if 'in_channels' in projector and projector['in_channels'] != self.head.in_channels:
                raise ValueError(f'projector in_channels ({projector["in_channels"]}) must '
                                 f'equal head.in_channels ({self.head.in_channels})')
            projector['in_channels'] = self.head.in_channels
            self.projector = LabelProjector(**projector)
            self.contrast_loss = (contrast_loss if isinstance(contrast_loss, nn.Module) else
                                  MODELS.build(contrast_loss))
        self.contrast_weight = float(contrast_weight)
        self.gather = gather

    @property
    def with_contrast(self) -> bool:
        """Whether this is a stage-2 model (BCE + label-level contrast)."""
        return self.contrast_loss is not None

    @staticmethod
    def _as_batch(inputs: Union[torch.Tensor, Sequence[torch.Tensor]]) -> tuple:
        """``(V*B x C x H x W batch, V)`` from a tensor (``V = 1``) or a list of ``V`` views."""
        if isinstance(inputs, torch.Tensor):
            return inputs, 1
        if not isinstance(inputs, (list, tuple)) or len(inputs) == 0:
            raise ValueError(f'MulConClassifier expects a tensor or a list of view tensors, got '
                             f'{type(inputs).__name__}')
        shapes = {tuple(v.shape) for v in inputs}
        if len(shapes) != 1:
            raise ValueError(f'MulConClassifier: all views must have the same shape, got '
                             f'{sorted(shapes)}')
        return torch.cat(list(inputs), dim=0), len(inputs)

    def _single_view(self, inputs):
        batch, num_views = self._as_batch(inputs)
        if num_views != 1:
            raise ValueError(f'MulConClassifier predicts from one view per image, got '
                             f'{num_views} views: use a test pipeline without MultiView')
        return batch

    def forward(self, inputs, data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """Stock :meth:`ImageClassifier.forward`; ``'tensor'`` accepts a 1-view list too."""
        if mode == 'tensor':
            inputs = self._single_view(inputs)
        return super().forward(inputs, data_samples, mode)

    def predict(self, inputs, data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Sigmoid scores of one view per image (``pred_score``, ``pred_label``).

        Args:
            inputs (Tensor | list[Tensor]): ``B x C x H x W`` (or a list holding one view).
            data_samples (list[DataSample], optional): filled with the predictions.

        Returns:
            list[DataSample]: with ``pred_score`` (``L`` sigmoid scores) and ``pred_label``.
        """
        return super().predict(self._single_view(inputs), data_samples, **kwargs)

    def loss(self, inputs, data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Training losses.

        Args:
            inputs (Tensor | list[Tensor]): one view ``B x C x H x W`` (stage 1) or a list of
                ``V`` views, each ``B x C x H x W`` (stage 2 needs ``V >= 2``).
            data_samples (list[DataSample]): ``B`` samples with ``gt_label`` or ``gt_score``.

        Returns:
            dict[str, Tensor]: stage 1: the head's losses (``loss``, BCE). Stage 2: the BCE
            over all ``V*B`` rows as ``loss_cls`` (renamed so that it does not shadow the total
            that mmengine logs as ``loss``) and ``loss_con`` (already multiplied by
            ``contrast_weight``).
        """
        batch, num_views = self._as_batch(inputs)
        if batch.shape[0] != num_views * len(data_samples):
            raise ValueError(f'MulConClassifier: {batch.shape[0] // num_views} images per view '
                             f'but {len(data_samples)} data samples')
        if self.with_contrast and num_views < 2:
            raise ValueError('MulConClassifier stage 2 (contrast_loss set) needs at least two '
                             'views per image: use MultiView(num_views=2, ...) in the train '
                             'pipeline')
        feats = self.extract_feat(batch)  # (V*B x L x E, )
        # all first views, then all second views: the label list repeats V times
        samples = list(data_samples) * num_views
        losses = self.head.loss(feats, samples)
        if not self.with_contrast:
            return losses
        # mmengine logs the summed loss as `loss`; the head's `loss` would shadow it in the log
        losses = {(f'{key}_cls' if key == 'loss' else key): value
                  for key, value in losses.items()}
        labels = multi_hot_from_samples(data_samples, self.head.num_classes,
                                        device=batch.device).repeat(num_views, 1)  # V*B x L
        emb = feats[-1] if isinstance(feats, (tuple, list)) else feats
        z = F.normalize(self.projector(emb), dim=-1)  # V*B x L x D
        if self.gather:
            z = gather_with_grad(z)  # G*V*B x L x D, gradient to every rank's slice
            labels = gather_no_grad(labels)
        # the (global) batch against itself, each entry's own embedding excluded
        self_index = torch.arange(z.shape[0], device=z.device)
        losses['loss_con'] = self.contrast_weight * self.contrast_loss(z, z, labels, labels,
                                                                       self_index)
        return losses
