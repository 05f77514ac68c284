# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Embeddings (and class scores) of a whole test set in one pass of a model.

The same extraction as mmpretrain's ``tools/visualization/vis_tsne.py`` (the model's own data
preprocessor, then the backbone; 4-D feature maps are average-pooled, ``N x L x C`` token
features are averaged over ``L``), made to work for classifiers and for the self-supervised
models of this plugin (``MultiLabelMoCo``, ``SimSiam``, ``BlockSimSiam``, ...), and returning
the class scores of a classifier from the same forward pass.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

STAGES = ('backbone', 'neck')


@dataclass
class Extraction:
    """What one pass over a test set gives.

    Attributes:
        embeddings (np.ndarray): ``N x D`` float32, one row per sample (dataset order).
        targets (np.ndarray): ``N x C`` int64 multi-hot ground truth.
        scores (np.ndarray | None): ``N x C`` float64 class probabilities of a classifier
            (None for a model without a trained classification head).
        classes (list[str]): the C class names.
        stage (str): ``'backbone'`` (pooled backbone output) or ``'neck'``.
    """

    embeddings: np.ndarray
    targets: np.ndarray
    scores: Optional[np.ndarray]
    classes: list
    stage: str


def _pool(feat: torch.Tensor) -> torch.Tensor:
    """``N x C x H x W`` -> ``N x C`` (average), ``N x L x C`` -> ``N x C`` (mean over L)."""
    if feat.ndim == 4:
        return F.adaptive_avg_pool2d(feat, 1).flatten(1)
    if feat.ndim == 3:
        return feat.mean(1)
    if feat.ndim == 2:
        return feat
    raise ValueError(f'cannot turn a feature of shape {tuple(feat.shape)} into one vector '
                     'per sample')


def _last(out):
    return out[-1] if isinstance(out, (tuple, list)) else out


def _is_classifier(model) -> bool:
    from mmpretrain.models.classifiers import ImageClassifier

    return isinstance(model, ImageClassifier) and getattr(model, 'with_head', False)


@torch.no_grad()
def extract(model,
            dataset,
            stage: str = 'backbone',
            batch_size: int = 64,
            num_workers: int = 0,
            with_scores: bool = True,
            source: str = 'the model') -> Extraction:
    """Run a model over a dataset: pooled embeddings, targets and (classifiers) scores.

    Args:
        model (torch.nn.Module): e.g. from :func:`mlcl_plugin.analysis.loading.build_model`.
        dataset: an mmengine dataset with a test pipeline ending in ``PackInputs``.
        stage (str): ``'backbone'`` — the backbone's last output, average-pooled
            (``N x D``, 128 for the quarter-width ResNet-18); ``'neck'`` — the neck's output
            (the projection of a contrastive model, the pooled feature of a classifier).
            Defaults to ``'backbone'``.
        batch_size (int): images per forward pass. Defaults to 64.
        num_workers (int): data-loader workers (0: decode in this process). Defaults to 0.
        with_scores (bool): also compute a classifier's class probabilities. Defaults to
            True.
        source (str): how to name the model in an error (e.g. the checkpoint path).

    Returns:
        Extraction: embeddings ``N x D``, targets ``N x C``, scores ``N x C`` or None.

    Raises:
        ValueError: unknown stage, a model without a neck for ``stage='neck'``, or
            non-finite embeddings (named with ``source`` and how many rows).
    """
    from mmengine.dataset import default_collate

    from .loading import class_names, dataset_targets

    if stage not in STAGES:
        raise ValueError(f'stage must be one of {STAGES}, got {stage!r}')
    if stage == 'neck' and getattr(model, 'neck', None) is None:
        raise ValueError(f'{source} has no neck; use the backbone stage')
    head = getattr(model, 'head', None)
    num_classes = getattr(head, 'num_classes', None)
    classes = class_names(dataset, num_classes)
    targets = dataset_targets(dataset, len(classes))
    scoring = (with_scores and _is_classifier(model)
               and getattr(model, 'scores_loaded', True))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False,
                                         num_workers=num_workers, collate_fn=default_collate)
    embeddings, scores = [], []
    model.eval()
    for batch in loader:
        data = model.data_preprocessor(batch, False)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):  # a self-supervised preprocessor's view list
            inputs = inputs[0]
        feats = model.backbone(inputs)
        neck_out = model.neck(feats) if getattr(model, 'neck', None) is not None else feats
        embeddings.append(_pool(_last(neck_out if stage == 'neck' else feats)).float().cpu())
        if scoring:
            samples = model.head.predict(neck_out, data['data_samples'])
            scores.append(torch.stack([s.pred_score for s in samples]).double().cpu())
    emb = torch.cat(embeddings).numpy()
    if emb.shape[0] != targets.shape[0]:
        raise ValueError(f'{source}: {emb.shape[0]} embeddings for {targets.shape[0]} samples')
    bad = ~np.isfinite(emb).all(axis=1)
    if bad.any():
        raise ValueError(f'{source}: {int(bad.sum())} of {len(emb)} embeddings are not finite '
                         f'(NaN/inf), e.g. sample {int(np.flatnonzero(bad)[0])}')
    score_arr = None
    if scoring:
        score_arr = torch.cat(scores).numpy()
        if score_arr.shape != targets.shape:
            raise ValueError(f'{source}: scores of shape {score_arr.shape} for targets of '
                             f'shape {targets.shape} (does the model have {len(classes)} '
                             'classes?)')
    return Extraction(embeddings=emb, targets=targets, scores=score_arr, classes=classes,
                      stage=stage)
