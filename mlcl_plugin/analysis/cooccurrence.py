# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Label co-occurrence of the ground truth and of thresholded predictions.

For multi-hot ``N x C`` labels ``Y``, the co-occurrence counts are ``Y^T Y`` (``[i, j]``:
images carrying both ``i`` and ``j``; the diagonal counts each class). With predictions
``P = scores >= thr`` three matrices compare a model with the truth:

* true ``Y^T Y`` and predicted ``P^T P`` co-occurrence, each shown as the conditional rate
  ``[i, j] / [i, i]`` (of the images with ``i``, the fraction that also have ``j``);
* the multi-label confusion ``Y^T P`` (``[i, j]``: images that carry ``i`` on which ``j`` is
  predicted), as a rate over the images that carry ``i``: the diagonal is each class's
  recall, an off-diagonal entry how often ``j`` is predicted on images of ``i``.

The summary ``cooccurrence gap`` is the mean absolute difference between the predicted and
the true conditional rates over the off-diagonal pairs where both are defined: 0 means the
model predicts labels together exactly as often as they occur together.
"""
from dataclasses import dataclass

import numpy as np

DEFAULT_THR = 0.5


@dataclass
class CooccurrenceResult:
    """True and predicted label co-occurrence of one model on one set.

    Attributes:
        true_counts (np.ndarray): ``C x C`` int64, ``Y^T Y``.
        pred_counts (np.ndarray): ``C x C`` int64, ``P^T P``.
        cross_counts (np.ndarray): ``C x C`` int64, ``Y^T P`` (row true, column predicted).
        true_rates (np.ndarray): ``C x C``, ``true_counts[i, j] / true_counts[i, i]`` (NaN
            rows for absent classes).
        pred_rates (np.ndarray): ``C x C``, ``pred_counts[i, j] / pred_counts[i, i]``.
        cross_rates (np.ndarray): ``C x C``, ``cross_counts[i, j] / true_counts[i, i]``.
        gap (float): mean ``|pred_rates - true_rates|`` over the defined off-diagonal pairs
            (NaN when none is defined).
        thr (float): the prediction threshold.
    """

    true_counts: np.ndarray
    pred_counts: np.ndarray
    cross_counts: np.ndarray
    true_rates: np.ndarray
    pred_rates: np.ndarray
    cross_rates: np.ndarray
    gap: float
    thr: float


def cooccurrence_counts(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``rows^T cols`` of two ``N x C`` binary matrices.

    Args:
        rows (np.ndarray): ``N x C`` 0/1 (or bool).
        cols (np.ndarray): ``N x C`` 0/1 (or bool).

    Returns:
        np.ndarray: ``C x C`` int64, ``[i, j]`` = samples with ``rows[:, i]`` and
        ``cols[:, j]``.
    """
    return np.asarray(rows, dtype=np.int64).T @ np.asarray(cols, dtype=np.int64)


def _row_rates(counts: np.ndarray, den: np.ndarray) -> np.ndarray:
    den = np.asarray(den, dtype=np.float64)[:, None]
    return np.divide(counts, den, out=np.full(counts.shape, np.nan), where=den > 0)


def label_cooccurrence(scores: np.ndarray, targets: np.ndarray,
                       thr: float = DEFAULT_THR) -> CooccurrenceResult:
    """True, predicted and cross co-occurrence of thresholded scores.

    Args:
        scores (np.ndarray): ``N x C`` class probabilities.
        targets (np.ndarray): ``N x C`` multi-hot ground truth.
        thr (float): a class is predicted when its score is ``>= thr``. Defaults to 0.5.

    Returns:
        CooccurrenceResult: counts, rates and the co-occurrence gap.
    """
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets)
    if scores.shape != targets.shape or scores.ndim != 2:
        raise ValueError(f'scores and targets must both be N x C, got {scores.shape} and '
                         f'{targets.shape}')
    if not np.isfinite(scores).all():
        raise ValueError('scores contain NaN/inf')
    if not 0 < thr < 1:
        raise ValueError(f'the threshold must lie in (0, 1), got {thr!r}')
    truth = targets == 1
    pred = scores >= thr
    true_counts = cooccurrence_counts(truth, truth)
    pred_counts = cooccurrence_counts(pred, pred)
    cross_counts = cooccurrence_counts(truth, pred)
    true_rates = _row_rates(true_counts, np.diagonal(true_counts))
    pred_rates = _row_rates(pred_counts, np.diagonal(pred_counts))
    cross_rates = _row_rates(cross_counts, np.diagonal(true_counts))
    off = ~np.eye(len(true_counts), dtype=bool)
    diff = np.abs(pred_rates - true_rates)[off]
    diff = diff[np.isfinite(diff)]
    gap = float(diff.mean()) if diff.size else float('nan')
    return CooccurrenceResult(true_counts=true_counts, pred_counts=pred_counts,
                              cross_counts=cross_counts, true_rates=true_rates,
                              pred_rates=pred_rates, cross_rates=cross_rates, gap=gap,
                              thr=float(thr))
