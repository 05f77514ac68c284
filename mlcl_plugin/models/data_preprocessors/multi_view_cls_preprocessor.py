# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Classification data preprocessor that also accepts several augmented views per image."""
from typing import List, Sequence

import torch
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import MODELS


def _is_view_list(inputs) -> bool:
    """Whether ``inputs`` is a batch of views (``MultiView`` in the pipeline)."""
    if not isinstance(inputs, (list, tuple)) or len(inputs) == 0:
        return False
    first = inputs[0]
    # default_collate of MultiView: a list of V tensors, each B x C x H x W.
    if isinstance(first, torch.Tensor):
        return first.dim() == 4
    # pseudo_collate of MultiView: a list of B lists of V tensors, each C x H x W.
    return isinstance(first, (list, tuple))


@MODELS.register_module()
class MultiViewClsDataPreprocessor(ClsDataPreprocessor):
    """:class:`ClsDataPreprocessor` that also handles ``MultiView`` batches.

    With ``dict(type='MultiView', num_views=V, transforms=[...])`` in the pipeline, the
    ``inputs`` of a collated batch are a list of views instead of one tensor:

    * ``default_collate``: a list of ``V`` tensors, each ``B x C x H x W``;
    * ``pseudo_collate``: a list of ``B`` lists of ``V`` tensors, each ``C x H x W``.

    Every view is processed exactly as the stock preprocessor processes a single-view batch
    (BGR -> RGB, normalisation, padding) and the result is a list of ``V`` tensors
    ``B x C x H x W``; labels are processed once (``gt_score`` with ``to_onehot``). A
    single-view batch (one tensor, or the stock ``pseudo_collate`` list of ``C x H x W``
    images) goes through :class:`ClsDataPreprocessor` unchanged, so one model config serves a
    two-view training pipeline and a single-view test pipeline (and mmpretrain's inferencers).

    ``SelfSupDataPreprocessor`` is not used because it turns a single-view tensor batch into a
    list of per-sample tensors (it iterates over the batch), which breaks single-view
    evaluation, and it does not produce ``gt_score``.

    Batch augmentations (Mixup, CutMix) mix samples of one view tensor; on several views they
    would mix differently per view, so they are refused for multi-view batches.

    Args:
        **kwargs: the arguments of :class:`mmpretrain.models.utils.ClsDataPreprocessor`.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        """Preprocess a batch of one or several views.

        Args:
            data (dict): data from the dataloader, ``inputs`` and ``data_samples``.
            training (bool): whether batch augmentations may run (single view only).

        Returns:
            dict: ``inputs`` (a tensor ``B x C x H x W``, or a list of ``V`` such tensors for a
            multi-view batch) and ``data_samples``.
        """
        inputs = data['inputs']
        if not _is_view_list(inputs):
            return super().forward(data, training)
        if training and self.batch_augments is not None:
            raise ValueError('MultiViewClsDataPreprocessor: batch_augments (Mixup/CutMix) are '
                             'not supported for multi-view batches; remove train_cfg.augments '
                             'or the MultiView transform')
        views = self._split_views(inputs)
        data_samples = data.get('data_samples', None)
        out: List[torch.Tensor] = []
        for idx, view in enumerate(views):  # a loop over the few views, not over samples
            # labels are converted once, with the first view
            res = super().forward(
                dict(inputs=view, data_samples=data_samples if idx == 0 else None),
                training=False)
            out.append(res['inputs'])
            if idx == 0:
                data_samples = res['data_samples']
        shapes = {tuple(v.shape[:1]) for v in out}
        if len(shapes) != 1:
            raise ValueError(f'MultiViewClsDataPreprocessor: views have different batch sizes '
                             f'{sorted(shapes)}')
        return {'inputs': out, 'data_samples': data_samples}

    @staticmethod
    def _split_views(inputs: Sequence) -> list:
        """Views as a list of ``V`` batch tensors (or ``V`` lists of images)."""
        if isinstance(inputs[0], torch.Tensor):
            return list(inputs)
        num_views = len(inputs[0])
        if any(len(sample) != num_views for sample in inputs):
            raise ValueError('MultiViewClsDataPreprocessor: samples have different numbers of '
                             f'views {sorted({len(s) for s in inputs})}')
        return [[sample[v] for sample in inputs] for v in range(num_views)]
