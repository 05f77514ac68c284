# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Start a multi-label classifier's bias at the logit of each label's training frequency."""
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from .class_check_hook import _base_datasets


def label_frequencies(dataset, num_classes: int) -> np.ndarray:
    """Smoothed share of the samples that carry each label.

    ``p_j = (n_j + 0.5) / (N + 1)`` with ``n_j`` the samples of label ``j`` among ``N``
    (the Krichevsky-Trofimov estimate): close to ``n_j / N`` for any label with a few
    positives, and inside (0, 1) for a label that never or always occurs, so that its logit is
    finite.

    Args:
        dataset: An mmpretrain multi-label dataset (``get_cat_ids``; wrappers unwrapped).
        num_classes (int): C, the width of the classifier.

    Returns:
        np.ndarray: ``(C,)`` float64 frequencies in (0, 1).

    Raises:
        ValueError: If the dataset has no samples, cannot list its labels, or has a label
            outside ``[0, C)``, naming the dataset.
    """
    counts = np.zeros(num_classes, dtype=np.int64)
    total = 0
    for ds in _base_datasets(dataset):
        name = f'{type(ds).__name__}({getattr(ds, "ann_file", "")})'
        if not hasattr(ds, 'get_cat_ids'):
            raise ValueError(f'{name} cannot list its labels (no get_cat_ids): the label '
                             'prior needs a multi-label dataset')
        for idx in range(len(ds)):
            cats = np.asarray(ds.get_cat_ids(idx), dtype=np.int64).reshape(-1)
            if cats.size and (cats.min() < 0 or cats.max() >= num_classes):
                raise ValueError(f'sample {idx} of {name} has a label outside '
                                 f'[0, {num_classes}): {cats.tolist()}')
            counts[np.unique(cats)] += 1
        total += len(ds)
    if total == 0:
        raise ValueError('the training dataset has no samples: no label prior to start from')
    return (counts + 0.5) / (total + 1.0)


@HOOKS.register_module()
class LabelPriorBiasHook(Hook):
    """Set the bias of a sigmoid classifier to the logit of each label's training frequency.

    With the bias at ``log(p_j / (1 - p_j))`` (:func:`label_frequencies`) and the weights at
    their usual small initialisation, the untrained classifier already predicts every label's
    training frequency: its BCE starts at the entropy of the labels instead of ``log 2``. On
    data with many rare labels (e.g. 1,000 labels at 2 % density) a bias started at 0 spends
    most of a downstream schedule walking to the prior (Adam moves it by about the learning
    rate per step: 4e-4 per step against a distance of ``logit(0.02) = -3.9``), so a linear
    probe can end worse than predicting the frequencies. On data with frequent labels the
    start changes little.

    The bias is set once, in ``before_train`` (after the pretrained weights are loaded), on a
    fresh run only: a resumed run (``runner.iter > 0``) and a run whose whole model comes from
    ``load_from`` keep the bias they loaded. Every rank computes the same frequencies from the
    same training dataset, so the ranks agree without communication.

    Args:
        layer (str): Dotted path of the ``nn.Linear`` under the model (DDP wrappers
            unwrapped). Defaults to ``'head.fc'`` (mmpretrain's linear classification heads).
        num_classes (int, optional): Expected width; defaults to the layer's
            ``out_features``.
    """

    priority = 'NORMAL'

    def __init__(self, layer: str = 'head.fc', num_classes: Optional[int] = None) -> None:
        self.layer = layer
        self.num_classes = num_classes

    def _linear(self, runner) -> torch.nn.Linear:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        module = model
        for part in self.layer.split('.'):
            if not hasattr(module, part):
                raise AttributeError(f'LabelPriorBiasHook: the model has no {self.layer!r} '
                                     f'({type(module).__name__} has no {part!r})')
            module = getattr(module, part)
        bias = getattr(module, 'bias', None)
        if not isinstance(bias, torch.Tensor) or bias.dim() != 1:
            raise ValueError(f'LabelPriorBiasHook: {self.layer} ({type(module).__name__}) has '
                             'no 1-D bias to initialise')
        return module

    def before_train(self, runner) -> None:
        """Write the label prior into the classifier's bias (fresh runs only)."""
        if runner.iter > 0 or runner.epoch > 0:
            return  # resumed: the bias is trained already
        if getattr(runner, '_load_from', None) and not getattr(runner, '_resume', False):
            print_log(f'LabelPriorBiasHook: the model comes from load_from '
                      f'({runner._load_from}); {self.layer}.bias is kept', logger='current')
            return
        module = self._linear(runner)
        width = module.bias.numel()
        if self.num_classes is not None and width != self.num_classes:
            raise ValueError(f'LabelPriorBiasHook: {self.layer} has {width} outputs, '
                             f'num_classes={self.num_classes}')
        freq = label_frequencies(runner.train_dataloader.dataset, width)
        logit = torch.from_numpy(np.log(freq) - np.log1p(-freq))
        with torch.no_grad():
            module.bias.copy_(logit.to(module.bias))
        print_log(f'LabelPriorBiasHook: {self.layer}.bias set to the logit of the training '
                  f'label frequencies (mean frequency {freq.mean():.4f}, logits '
                  f'{logit.min():.2f} .. {logit.max():.2f})', logger='current')
