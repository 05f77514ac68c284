# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Average precision of every class, and two runs compared class by class.

AP is scikit-learn's ``average_precision_score`` (the definition the plugin's
``MultiLabelPaperMetric`` uses, so the mean of the per-class APs is its mAP), in percent.
"""
import os.path as osp
from typing import Tuple

import numpy as np


def per_class_ap(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """AP of each class in percent.

    Args:
        scores (np.ndarray): ``N x C`` class scores.
        targets (np.ndarray): ``N x C`` multi-hot ground truth.

    Returns:
        np.ndarray: ``C`` float64, NaN for a class without a positive sample.
    """
    from sklearn.metrics import average_precision_score

    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets)
    if scores.shape != targets.shape or scores.ndim != 2:
        raise ValueError(f'scores and targets must both be N x C, got {scores.shape} and '
                         f'{targets.shape}')
    if not np.isfinite(scores).all():
        raise ValueError('scores contain NaN/inf')
    positive = (targets == 1).any(axis=0)  # C
    ap = np.full(scores.shape[1], np.nan)
    if positive.any():
        ap[positive] = average_precision_score(targets[:, positive] == 1,
                                               scores[:, positive], average=None) * 100
    return ap


def ap_difference_order(ap_a: np.ndarray, ap_b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Classes sorted by ``ap_b - ap_a`` (largest gain of B first; undefined classes last).

    Args:
        ap_a (np.ndarray): ``C`` APs of run A.
        ap_b (np.ndarray): ``C`` APs of run B.

    Returns:
        tuple[np.ndarray, np.ndarray]: the order (``C`` int64) and ``ap_b - ap_a`` (``C``).
    """
    diff = np.asarray(ap_b, dtype=np.float64) - np.asarray(ap_a, dtype=np.float64)
    key = np.where(np.isfinite(diff), -diff, np.inf)
    return np.argsort(key, kind='stable'), diff


def load_scores(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Scores and targets saved by the real-photo benchmark (``<unit>/test_scores.npz``).

    Args:
        path (str): an ``.npz`` with ``scores`` and ``targets`` (both ``N x C``).

    Returns:
        tuple[np.ndarray, np.ndarray]: ``scores`` float64 and ``targets`` int64.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'scores file {path} does not exist')
    with np.load(path, allow_pickle=False) as data:
        missing = {'scores', 'targets'} - set(data.files)
        if missing:
            raise ValueError(f'{path} lacks {sorted(missing)} (has {data.files})')
        scores = np.asarray(data['scores'], dtype=np.float64)
        targets = np.asarray(data['targets'], dtype=np.int64)
    if scores.shape != targets.shape or scores.ndim != 2:
        raise ValueError(f'{path}: scores {scores.shape} and targets {targets.shape} must '
                         'both be N x C')
    return scores, targets
