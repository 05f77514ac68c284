# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The multi-label metrics reported by the multi-label contrastive learning papers.

Every metric is computed from exact integer counts and one sort per class, in passes over
blocks of the N x C matrix, so the temporaries stay bounded (``CHUNK_SIZE`` entries at a time)
whatever the number of samples and classes:

* a class pass over blocks of columns, each block transposed to classes x samples: the scores
  and targets of a class are packed into one 64-bit key per entry (the IEEE bits of the
  nonnegative score, which order like the scores, shifted left by 2, with a 2-bit target code
  below) and sorted. The average precision needs only the positives' positions in the sorted
  row; the per-class counts at the thresholds are binary searches in it; the per-sample counts
  are comparisons and histograms of the block before it is sorted;
* row passes for what needs the samples' rows: the top-3 of ML-GCN and the BCE.

Every thresholded metric, for the evaluated threshold and all thresholds of the oracle sweep
at once, is then a formula of these counts (the formulas are those of the boolean-matrix
helpers :func:`_thresholded`, :func:`_attributes` and :func:`_mlgcn`, which share them).
"""
import sys
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence]

# The oracle sweep of MulSupCon / C-GMVAE: 0.1, 0.2, ..., 0.9. Built as k / 10 so that the
# reported thresholds are the exact decimals (0.1 * 3 would give 0.30000000000000004).
ORACLE_THRESHOLDS = np.arange(1, 10) / 10

# Matrix entries (samples x classes) one pass holds at once. The class pass keeps about 10
# to 20 bytes per entry (8-byte sort keys, 1-byte target codes and mask, the positives'
# precisions by rank), i.e. 10 to 20 MiB whatever N x C is; the passes stay long enough
# (thousands of entries per NumPy call) that the per-block overhead is negligible.
CHUNK_SIZE = 1 << 20

# Target codes in the 2 low bits of a sort key: within a tie group the negatives sort first,
# then the positives, then the ignored entries (the AP below relies on this order).
_NEG, _POS, _IGN = 0, 1, 3
# The byte of a uint64 that holds its lowest bits.
_LOW_BYTE = 0 if sys.byteorder == 'little' else 7


def _as_scores(value: ArrayLike) -> np.ndarray:
    """``pred`` as a float32 or float64 numpy array, without a copy where possible.

    float32 stays float32 (it widens exactly to float64, so no tie or threshold comparison
    changes), which halves the memory of an evaluation set.
    """
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype not in (torch.float32, torch.float64):
            # float16 / bfloat16 widen exactly to float32; integers as before to float64
            value = value.to(torch.float32 if value.is_floating_point() else torch.float64)
        return value.numpy()
    try:
        if isinstance(value, np.ndarray) and value.dtype in (np.float32, np.float64):
            return value
        if isinstance(value, np.ndarray) and value.dtype == np.float16:
            return value.astype(np.float32)
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError('pred must be an N x C array of numbers (a torch.Tensor, a numpy '
                         f'array or a nested list of equal-length rows): {err}') from err


def _as_targets(value: ArrayLike) -> np.ndarray:
    """``target`` as a numeric numpy array, without a copy where possible (checked later)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:  # numpy has no bfloat16
            value = value.float()
        return value.numpy()
    try:
        if isinstance(value, np.ndarray) and value.dtype.kind in 'biuf':
            return value
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError('target must be an N x C array of numbers (a torch.Tensor, a numpy '
                         f'array or a nested list of equal-length rows): {err}') from err


def _row_blocks(num_rows: int, num_cols: int, chunk_size: int):
    """Row slices of at most about ``chunk_size`` entries (at least one row each)."""
    step = max(1, chunk_size // max(1, num_cols))
    for start in range(0, num_rows, step):
        yield slice(start, min(num_rows, start + step))


def _prepare(pred: ArrayLike, target: ArrayLike,
             chunk_size: int = CHUNK_SIZE) -> Tuple[np.ndarray, np.ndarray, bool]:
    """Validate and convert ``pred`` (N x C) and ``target`` (N x C).

    Returns:
        tuple: ``pred`` as a float32 or float64 array (N x C), ``target`` as a numeric array
        (N x C, not copied if it was one) holding only 0, 1 and -1, and whether any target
        is -1.
    """
    pred = _as_scores(pred)
    target = _as_targets(target)
    if pred.ndim != 2 or target.ndim != 2:
        raise ValueError('pred and target must be 2D (N x C), got pred of shape '
                         f'{tuple(pred.shape)} and target of shape {tuple(target.shape)}')
    if pred.shape != target.shape:
        raise ValueError('pred and target must have the same shape (N x C), got pred of '
                         f'shape {tuple(pred.shape)} and target of shape {tuple(target.shape)}')
    if pred.shape[0] == 0 or pred.shape[1] == 0:
        raise ValueError('cannot evaluate an empty input: got pred and target of shape '
                         f'{tuple(pred.shape)} (need at least one sample and one class)')
    # min and max propagate NaN, so they check for NaN without an N x C mask.
    low, high = pred.min(), pred.max()
    if np.isnan(low) or np.isnan(high):
        raise ValueError('pred contains NaN scores')
    if low < 0 or high > 1:
        raise ValueError(f'pred values must lie in [0, 1], got range [{low:g}, {high:g}]; '
                         'these look like logits: pred_score must be probabilities (e.g. '
                         'sigmoid of the logits)')
    has_ignored = False
    for rows in _row_blocks(*target.shape, chunk_size):
        block = target[rows]
        ignored = block == -1
        valid = ignored | (block == 0)
        valid |= block == 1
        if not valid.all():
            # blocks go in row order, so this is the first bad value in row-major order
            raise ValueError('target values must be 1 (positive), 0 (negative) or -1 '
                             f'(ignored), got the bad value {float(block[~valid][0]):g}')
        has_ignored = has_ignored or bool(ignored.any())
    return pred, target, has_ignored


def _check_inputs(pred: ArrayLike, target: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
    """Validate and convert ``pred`` and ``target``: see :func:`_prepare` (without the flag)."""
    return _prepare(pred, target)[:2]


def _at_least(pred: np.ndarray, thr: float) -> np.ndarray:
    """``pred >= thr`` as for float64 scores, also for float32 ones.

    NumPy may compare a float32 array with a Python float in float32, where ``thr`` rounds to
    the nearest float32 (e.g. 0.7 rounds down, which would count a score of float32(0.7) as
    >= 0.7). The smallest float32 not below ``thr`` gives the exact float64 answer instead.
    """
    return pred >= _threshold_for(thr, pred.dtype)


def _threshold_for(thr: float, dtype: np.dtype):
    """The threshold that makes ``scores >= it`` exact for scores of ``dtype``."""
    if dtype != np.float32:
        return float(thr)
    low = np.float32(thr)
    return low if float(low) >= thr else np.nextafter(low, np.float32(np.inf))


def _row_search(keys: np.ndarray, row_len: int, rows: np.ndarray,
                values: np.ndarray) -> np.ndarray:
    """``np.searchsorted(row, value, side='left')`` for many (row, value) queries at once.

    A binary search run for all queries together (one gather per halving step), so there is
    no Python loop over the classes.

    Args:
        keys (np.ndarray): Rows sorted ascending, flattened (rows x ``row_len``).
        row_len (int): Length of a row.
        rows (np.ndarray): Row of each query.
        values (np.ndarray): Value of each query.

    Returns:
        np.ndarray: For each query the first index of its row holding a key >= its value.
    """
    low = np.zeros(len(rows), dtype=np.int64)
    high = np.full(len(rows), row_len, dtype=np.int64)
    base = rows.astype(np.int64) * row_len
    while True:
        active = low < high
        if not active.any():
            return low
        mid = (low + high) >> 1
        below = keys[base + np.minimum(mid, row_len - 1)] < values
        low = np.where(active & below, mid + 1, low)
        high = np.where(active & ~below, mid, high)


def _suffix_counts(hist: np.ndarray) -> np.ndarray:
    """Counts at or above each threshold from histograms over the threshold bins.

    ``hist[..., b]`` counts the entries with ``b`` thresholds at or below their score; the
    entries scored at least threshold ``k`` are those of the bins ``b > k``.

    Returns:
        np.ndarray: ``out[..., k] = hist[..., k + 1:].sum(-1)``, one fewer bin than ``hist``.
    """
    return np.cumsum(hist[..., ::-1], axis=-1)[..., ::-1][..., 1:]


def _class_pass(pred: np.ndarray, target: np.ndarray, thresholds: np.ndarray,
                has_ignored: bool, chunk_size: int = CHUNK_SIZE) -> Dict[str, np.ndarray]:
    """Per-class AP and the per-class and per-sample counts at the thresholds, block-wise.

    The average precision is scikit-learn's (``sklearn.metrics.average_precision_score``):
    the step integral ``AP = sum_k (R_k - R_{k-1}) * P_k`` over the distinct scores of a
    class, from the highest down, where ``P_k`` and ``R_k`` count every sample scored at least
    that high (so a tie group enters as a whole). Equivalently every positive contributes
    ``1 / #positives`` times the precision of all samples scored at least as high as it.

    Args:
        pred (np.ndarray): Scores in [0, 1], float32 or float64, N x C.
        target (np.ndarray): 1 positive, 0 negative, -1 ignored, N x C. The ignored entries
            are left out of the AP and are negatives for the thresholded counts.
        thresholds (np.ndarray): Ascending float64 thresholds (T,).
        has_ignored (bool): Whether ``target`` holds a -1 (skips that bookkeeping if not).
        chunk_size (int): Entries per block of classes. Defaults to ``CHUNK_SIZE``.

    Returns:
        dict: ``ap`` (C,), NaN for a class without positives; ``class_pos`` (C,) positives;
        ``class_hit`` and ``class_tp`` (T x C): entries and positives scored >= each
        threshold; ``sample_gt`` (N,) positives; ``sample_hit`` and ``sample_tp`` (T x N).
    """
    num_samples, num_classes = pred.shape
    num_thr = len(thresholds)
    width = max(1, min(num_classes, chunk_size // num_samples))
    # a score is >= thr exactly when its key is >= the key of thr with the lowest code
    thr_keys = thresholds.astype(np.float64).view(np.uint64) << np.uint64(2)

    out = {'ap': np.full(num_classes, np.nan),
           'class_pos': np.zeros(num_classes, dtype=np.int64),
           'class_hit': np.zeros((num_thr, num_classes), dtype=np.int64),
           'class_tp': np.zeros((num_thr, num_classes), dtype=np.int64),
           # int32 per-sample counts (at most C each): they are the only arrays that grow
           # with N beyond a block
           'sample_gt': np.zeros(num_samples, dtype=np.int32),
           'sample_hit': np.zeros((num_thr, num_samples), dtype=np.int32),
           'sample_tp': np.zeros((num_thr, num_samples), dtype=np.int32)}
    scores_buf = np.empty((width, num_samples), dtype=np.float64)
    codes_buf = np.empty((width, num_samples), dtype=np.uint8)
    mask_buf = np.empty((width, num_samples), dtype=bool)

    for first in range(0, num_classes, width):
        cols = slice(first, min(num_classes, first + width))
        num = cols.stop - cols.start
        scores, codes, mask = scores_buf[:num], codes_buf[:num], mask_buf[:num]
        # classes x samples in float64 (exact for float32); + 0.0 turns a -0.0 into +0.0,
        # whose bits would otherwise sort above every positive score
        np.add(pred[:, cols].T, 0., out=scores)
        block_target = target[:, cols].T
        np.equal(block_target, 1, out=mask)
        np.copyto(codes, mask)  # _POS where positive, _NEG elsewhere
        pos_flat = np.flatnonzero(mask)  # positives, class-major
        if has_ignored:
            np.equal(block_target, -1, out=mask)
            codes[mask] = _IGN

        # Per-sample counts, before sorting loses the sample order.
        for k, thr in enumerate(thresholds):
            np.greater_equal(scores, thr, out=mask)
            out['sample_hit'][k] += mask.sum(axis=0)
        pos_class = pos_flat // num_samples
        pos_sample = pos_flat - pos_class * num_samples
        # the number of thresholds at or below each positive's score
        pos_bin = np.searchsorted(thresholds, scores.ravel()[pos_flat], side='right')
        out['sample_gt'] += np.bincount(pos_sample, minlength=num_samples)
        for k in range(num_thr):
            out['sample_tp'][k] += np.bincount(pos_sample[pos_bin > k], minlength=num_samples)
        class_hist = np.bincount(pos_class * (num_thr + 1) + pos_bin,
                                 minlength=num * (num_thr + 1)).reshape(num, num_thr + 1)
        num_pos = class_hist.sum(axis=1)  # (num,)
        out['class_pos'][cols] = num_pos
        out['class_tp'][:, cols] = _suffix_counts(class_hist).T

        # Sort keys: score bits above, target code in the 2 low bits (in place of the scores).
        keys = scores.view(np.uint64)
        keys <<= np.uint64(2)
        keys |= codes
        keys.sort(axis=1)
        flat = keys.ravel()
        hit_pos = _row_search(flat, num_samples, np.repeat(np.arange(num), num_thr),
                              np.tile(thr_keys, num)).reshape(num, num_thr)
        out['class_hit'][:, cols] = (num_samples - hit_pos).T

        np.bitwise_and(keys.view(np.uint8).reshape(num, num_samples, 8)[:, :, _LOW_BYTE], 3,
                       out=codes)  # the codes in sorted order
        if has_ignored:
            np.equal(codes, _IGN, out=mask)
            ign_flat = np.flatnonzero(mask)
            num_ign = np.bincount(ign_flat // num_samples, minlength=num)
        else:
            ign_flat, num_ign = None, 0
        np.equal(codes, _POS, out=mask)
        pos_flat = np.flatnonzero(mask)  # ascending scores within each class
        out['ap'][cols] = _average_precision_sorted(flat, num_samples, pos_flat, num_pos,
                                                    num_samples - num_pos - num_ign, ign_flat)
    return out


def _average_precision_sorted(keys: np.ndarray, row_len: int, pos_flat: np.ndarray,
                              num_pos: np.ndarray, num_neg: np.ndarray,
                              ign_flat: Optional[np.ndarray]) -> np.ndarray:
    """AP of each class of a block from its sorted keys (see :func:`_class_pass`).

    Args:
        keys (np.ndarray): The block's keys, each class sorted ascending, flattened.
        row_len (int): Samples per class (N).
        pos_flat (np.ndarray): Flat positions of the positives in ``keys``, ascending.
        num_pos (np.ndarray): Positives of each class.
        num_neg (np.ndarray): Negatives of each class (ignored entries excluded).
        ign_flat (np.ndarray, optional): Flat positions of the ignored entries, ascending,
            or None if there are none.

    Returns:
        np.ndarray: AP of each class, NaN for a class without positives.
    """
    num_rows = len(num_pos)
    ap = np.full(num_rows, np.nan)
    if len(pos_flat) == 0:
        return ap
    row = pos_flat // row_len
    col = pos_flat - row * row_len
    index = np.arange(len(pos_flat))
    row_first = np.cumsum(num_pos) - num_pos  # index in pos_flat of each class's first one
    rank = index - row_first[row]  # ascending rank of the positive within its class
    bits = keys[pos_flat] >> np.uint64(2)

    # Positives below the tie group = the ascending rank of the group's first positive.
    new_group = np.ones(len(pos_flat), dtype=bool)
    new_group[1:] = (row[1:] != row[:-1]) | (bits[1:] != bits[:-1])
    pos_below = np.maximum.accumulate(np.where(new_group, index, 0)) - row_first[row]
    # First position of the tie group: the positive itself unless the entry before it has the
    # same score (the group's negatives sort before its positives); then search the group's
    # lowest key. With continuous scores almost no positive needs the search.
    start = col.copy()
    tied = col > 0
    tied[tied] = (keys[pos_flat[tied] - 1] >> np.uint64(2)) == bits[tied]
    if tied.any():
        start[tied] = _row_search(keys, row_len, row[tied], bits[tied] << np.uint64(2))
    neg_below = start - pos_below
    if ign_flat is not None and len(ign_flat):
        # the group's ignored entries sort after its positives, so all these are below it
        neg_below -= (np.searchsorted(ign_flat, row * row_len + start)
                      - np.searchsorted(ign_flat, row * row_len))
    tp = num_pos[row] - pos_below  # positives scored at least as high
    fp = num_neg[row] - neg_below  # negatives scored at least as high
    precision = tp / (tp + fp)

    # Sum each class's precisions one by one from the highest score down (a cumulative sum
    # is sequential whatever the shape), the order of the N x C formulation, so that the AP
    # is the same to the last bit; equal values share a tie group, so their order inside it
    # does not matter.
    by_rank = np.zeros((int(num_pos.max()), num_rows))
    by_rank[num_pos[row] - 1 - rank, row] = precision
    total = np.cumsum(by_rank, axis=0)[-1]
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(num_pos > 0, total / num_pos, np.nan)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` elementwise with 0 where ``den`` is 0."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=np.float64),
                                   np.asarray(den, dtype=np.float64))
    return np.divide(num, den, out=np.zeros(num.shape), where=den != 0)


def _thresholded_counts(class_tp: np.ndarray, class_hit: np.ndarray, class_pos: np.ndarray,
                        sample_tp: np.ndarray, sample_hit: np.ndarray, sample_gt: np.ndarray,
                        num_entries: int, macro_eps: float = 0.) -> Dict[str, np.ndarray]:
    """Hamming accuracy, example/macro/micro F1 (fractions) from the counts of a threshold.

    Leading batch dimensions (e.g. one per threshold of the oracle sweep) broadcast.

    Args:
        class_tp (np.ndarray): True positives per class, ... x C.
        class_hit (np.ndarray): Predicted positives per class, ... x C.
        class_pos (np.ndarray): Positives per class, ... x C.
        sample_tp (np.ndarray): True positives per sample, ... x N.
        sample_hit (np.ndarray): Predicted positives per sample, ... x N.
        sample_gt (np.ndarray): Positives per sample, ... x N.
        num_entries (int): N * C.
        macro_eps (float): Added to the macro-F1 denominators (the oracle reference adds
            1e-6). Defaults to 0.

    Returns:
        dict: ``hamming_accuracy``, ``example_f1``, ``macro_f1``, ``micro_f1``, each of the
        leading batch shape.
    """
    class_fp = class_hit - class_tp
    class_fn = class_pos - class_tp
    hamming = 1. - (class_fp + class_fn).sum(axis=-1) / num_entries

    # Example F1: samples with no label and no prediction are left out of the mean.
    inter = sample_tp
    size = sample_gt + sample_hit
    kept = size > 0
    example = _safe_div((_safe_div(2 * inter, size) * kept).sum(axis=-1), kept.sum(axis=-1))

    class_den = 2 * class_tp + class_fp + class_fn
    if macro_eps:
        macro = (2 * class_tp / (class_den + macro_eps)).mean(axis=-1)
    else:
        macro = _safe_div(2 * class_tp, class_den).mean(axis=-1)

    sum_tp = class_tp.sum(axis=-1)
    micro = _safe_div(2 * sum_tp, 2 * sum_tp + class_fp.sum(axis=-1) + class_fn.sum(axis=-1))
    return {'hamming_accuracy': hamming, 'example_f1': example, 'macro_f1': macro,
            'micro_f1': micro}


def _thresholded(gt: np.ndarray, hit: np.ndarray, macro_eps: float = 0.) -> Dict[str, np.ndarray]:
    """Hamming accuracy, example/macro/micro F1 from binary matrices (fractions, not %).

    Works on any leading batch dimensions (the formulas are those of
    :func:`_thresholded_counts`).

    Args:
        gt (np.ndarray): Ground truth (bool), ... x N x C.
        hit (np.ndarray): Predictions (bool), ... x N x C.
        macro_eps (float): Added to the macro-F1 denominators. Defaults to 0.

    Returns:
        dict: ``hamming_accuracy``, ``example_f1``, ``macro_f1``, ``micro_f1``, each of the
        leading batch shape.
    """
    tp = gt & hit
    shape = np.broadcast_shapes(gt.shape, hit.shape)
    return _thresholded_counts(tp.sum(axis=-2), hit.sum(axis=-2), gt.sum(axis=-2),
                               tp.sum(axis=-1), hit.sum(axis=-1), gt.sum(axis=-1),
                               shape[-2] * shape[-1], macro_eps=macro_eps)


def _attribute_counts(class_tp: np.ndarray, class_hit: np.ndarray, class_pos: np.ndarray,
                      sample_tp: np.ndarray, sample_hit: np.ndarray, sample_gt: np.ndarray,
                      num_samples: int) -> Dict[str, float]:
    """The metrics of :func:`_attributes` from the counts of one threshold (see there)."""
    neg = num_samples - class_pos  # C
    tpr = _safe_div(class_tp, class_pos)
    tnr = _safe_div(neg - (class_hit - class_tp), neg)  # true negatives / negatives
    union = sample_gt + sample_hit - sample_tp  # N
    precision = float(_safe_div(sample_tp, sample_hit).mean())
    recall = float(_safe_div(sample_tp, sample_gt).mean())
    return {'mA': float(((tpr + tnr) / 2).mean()),
            'instance_accuracy': float(_safe_div(sample_tp, union).mean()),
            'instance_precision': precision,
            'instance_recall': recall,
            'instance_f1': float(_safe_div(2 * precision * recall, precision + recall))}


def _attributes(gt: np.ndarray, hit: np.ndarray) -> Dict[str, float]:
    """Pedestrian-attribute metrics (PETA protocol) from binary N x C matrices (fractions).

    ``mA``: mean over classes of ``(TPR + TNR) / 2``, where a class without positives (or
    without negatives) contributes its defined rate only, so ``(TNR + 0) / 2`` counts as
    ``TNR / 2`` there; ``instance_*``: per-sample ``|y & y_hat| / |y | y_hat|`` (accuracy),
    ``/ |y_hat|`` (precision), ``/ |y|`` (recall), each 0 where its denominator is 0, then
    averaged over the samples; ``instance_f1 = 2 P R / (P + R)`` of those two means.
    """
    tp = gt & hit
    return _attribute_counts(tp.sum(axis=0), hit.sum(axis=0), gt.sum(axis=0), tp.sum(axis=1),
                             hit.sum(axis=1), gt.sum(axis=1), gt.shape[0])


THRESHOLDED_KEYS = ('hamming_accuracy', 'example_f1', 'macro_f1', 'micro_f1', 'mA',
                    'instance_accuracy', 'instance_precision', 'instance_recall',
                    'instance_f1')


def val_chosen_metrics(val_pred: ArrayLike,
                       val_target: ArrayLike,
                       test_pred: ArrayLike,
                       test_target: ArrayLike,
                       thresholds: Sequence[float] = tuple(ORACLE_THRESHOLDS)
                       ) -> Dict[str, float]:
    """Thresholded metrics on a test split at thresholds chosen on a validation split.

    For every thresholded metric of :class:`MultiLabelPaperMetric` (the F1 family, Hamming
    accuracy and the attribute metrics), the threshold among ``thresholds`` that maximises
    it on the validation split (the lowest one on a tie) is applied to the test split. The
    test split is never used to choose: this is the fair counterpart of the papers' oracle
    sweep (``oracle=True``), which chooses on the evaluated split itself.

    Args:
        val_pred (ArrayLike): Validation probabilities, N_val x C.
        val_target (ArrayLike): Validation targets (1 / 0 / -1 ignored), N_val x C.
        test_pred (ArrayLike): Test probabilities, N_test x C.
        test_target (ArrayLike): Test targets, N_test x C.
        thresholds (Sequence[float]): Candidate thresholds in (0, 1). Defaults to
            0.1, 0.2, ..., 0.9.

    Returns:
        Dict[str, float]: ``valthr_<metric>`` (test value, percent) and
        ``valthr_<metric>_thr`` (the chosen threshold) for every thresholded metric.
    """
    # ascending, so that argmax's first maximum is the lowest threshold on a tie
    thresholds = sorted({float(t) if isinstance(t, np.floating) else t for t in thresholds})
    for thr in thresholds:
        _check_thr(thr)
    val_pred, val_target = _check_inputs(val_pred, val_target)
    test_pred, test_target = _check_inputs(test_pred, test_target)
    if val_pred.shape[1] != test_pred.shape[1]:
        raise ValueError(f'validation and test scores have different class counts: '
                         f'{val_pred.shape[1]} vs {test_pred.shape[1]}')

    def at(pred, target, thr):
        gt, hit = target == 1, _at_least(pred, thr)
        out = {k: float(v) for k, v in _thresholded(gt, hit).items()}
        out.update(_attributes(gt, hit))
        return out

    val = [at(val_pred, val_target, t) for t in thresholds]
    results = {}
    for key in THRESHOLDED_KEYS:
        best = int(np.argmax([v[key] for v in val]))  # the lowest threshold on a tie
        thr = float(thresholds[best])
        results[f'valthr_{key}'] = at(test_pred, test_target, thr)[key] * 100
        results[f'valthr_{key}_thr'] = thr
    return results


def _mlgcn_counts(num_gt: np.ndarray, num_pred: np.ndarray,
                 num_correct: np.ndarray) -> Dict[str, float]:
    """CP, CR, CF1, OP, OR, OF1 of ML-GCN from per-class counts (fractions).

    Args:
        num_gt (np.ndarray): Positives per class (C,).
        num_pred (np.ndarray): Predicted positives per class (C,).
        num_correct (np.ndarray): True positives per class (C,).
    """
    num_gt = np.asarray(num_gt).astype(np.float64)  # C (copies: num_pred is changed below)
    num_pred = np.asarray(num_pred).astype(np.float64)
    num_correct = np.asarray(num_correct).astype(np.float64)
    # As ML-GCN's reference code: Np = 0 becomes 1, also inside the overall sum of OP.
    num_pred[num_pred == 0] = 1
    cp = float((num_correct / num_pred).mean())
    has_gt = num_gt > 0
    cr = float((num_correct[has_gt] / num_gt[has_gt]).mean()) if has_gt.any() else 0.
    op = float(num_correct.sum() / num_pred.sum())
    orc = float(_safe_div(num_correct.sum(), num_gt.sum()))
    return {'CP': cp, 'CR': cr, 'CF1': float(_safe_div(2 * cp * cr, cp + cr)),
            'OP': op, 'OR': orc, 'OF1': float(_safe_div(2 * op * orc, op + orc))}


def _mlgcn(gt: np.ndarray, hit: np.ndarray) -> Dict[str, float]:
    """CP, CR, CF1, OP, OR, OF1 of ML-GCN from binary N x C matrices (fractions)."""
    return _mlgcn_counts(gt.sum(axis=0), hit.sum(axis=0), (gt & hit).sum(axis=0))


def _top_k_counts(pred: np.ndarray, target: np.ndarray, thr: float, k: int,
                  chunk_size: int = CHUNK_SIZE) -> Tuple[np.ndarray, np.ndarray]:
    """Per-class predicted and correct counts when only each sample's top ``k`` may be hit.

    The top ``k`` of a sample are its ``k`` highest scores, ties broken by the lowest class
    index (a stable sort of the negated scores), found per block of rows without sorting:
    every score above the k-th highest, then the lowest-index ones equal to it.

    Args:
        pred (np.ndarray): Scores, N x C with C > ``k``.
        target (np.ndarray): Targets (1 positive), N x C.
        thr (float): A top-``k`` class is predicted if its score is >= ``thr``.
        k (int): How many classes per sample may be predicted.
        chunk_size (int): Entries per block of rows. Defaults to ``CHUNK_SIZE``.

    Returns:
        tuple: Predicted positives per class (C,), true positives per class (C,).
    """
    num_classes = pred.shape[1]
    thr = _threshold_for(thr, pred.dtype)
    num_pred = np.zeros(num_classes, dtype=np.int64)
    num_correct = np.zeros(num_classes, dtype=np.int64)
    for rows in _row_blocks(*pred.shape, chunk_size):
        block = pred[rows]
        kth = np.partition(block, num_classes - k, axis=1)[:, num_classes - k, None]
        above = block > kth  # fewer than k per row
        slots = k - above.sum(axis=1)
        tie_row, tie_col = np.nonzero(block == kth)  # row-major: by class index in a row
        tie_rank = np.arange(len(tie_row)) - np.searchsorted(tie_row, tie_row)
        keep = tie_rank < slots[tie_row]
        top_row, top_col = np.nonzero(above)
        top_row = np.concatenate([top_row, tie_row[keep]])
        top_col = np.concatenate([top_col, tie_col[keep]])
        hit = block[top_row, top_col] >= thr
        top_row, top_col = top_row[hit], top_col[hit]
        num_pred += np.bincount(top_col, minlength=num_classes)
        correct = target[rows][top_row, top_col] == 1
        num_correct += np.bincount(top_col[correct], minlength=num_classes)
    return num_pred, num_correct


def _mean_bce(pred: np.ndarray, target: np.ndarray, has_ignored: bool,
              chunk_size: int = CHUNK_SIZE) -> float:
    """Mean binary cross-entropy over the non-ignored entries, one block of rows at a time.

    The value is that of ``entry[target != -1].mean()`` over the whole N x C matrix of
    entries, to the last bit: NumPy sums a contiguous float64 vector in consecutive blocks of
    ``np.getbufsize()`` elements (pairwise inside a block, one after the other across them),
    so the blocks of the row-major vector of kept entries are summed the same way here.
    """
    block = np.getbufsize()
    total, count = np.float64(0.), 0
    carry = np.empty(0)  # kept entries not yet summed (fewer than a block)
    for rows in _row_blocks(*pred.shape, max(chunk_size, block)):
        prob = np.clip(pred[rows].astype(np.float64), 1e-7, 1 - 1e-7)
        gt = target[rows]
        entry = -np.where(gt == 1, np.log(prob), np.log1p(-prob))
        kept = np.concatenate([carry, entry[gt != -1] if has_ignored else entry.ravel()])
        count += len(kept) - len(carry)
        full = len(kept) - len(kept) % block
        sums = np.add.reduce(kept[:full].reshape(-1, block), axis=1)
        total = np.cumsum(np.concatenate([[total], sums]))[-1]  # one after the other
        carry = kept[full:]
    total = total + np.add.reduce(carry)
    return float(total / count)


@METRICS.register_module()
class MultiLabelPaperMetric(BaseMetric):
    """Multi-label metrics as reported by the multi-label contrastive learning papers.

    Every value is a float in percent (x100, as mmpretrain reports), except the oracle
    thresholds. Inputs are ``pred`` (N x C probabilities in [0, 1]) and ``target`` (N x C).

    Targets: 1 is positive, 0 negative, and -1 (mmpretrain's "difficult / ignore" convention)
    is left out of the mAP of that class for that sample and treated as negative (0) by every
    thresholded metric. Any other target value raises ``ValueError``.

    Ranking metric:

    - ``mAP``: mean, over the classes WITH AT LEAST ONE POSITIVE, of scikit-learn's average
      precision (``sklearn.metrics.average_precision_score``): per class
      ``AP = sum_k (R_k - R_{k-1}) * P_k`` over the distinct scores from the highest down,
      where precision ``P_k`` and recall ``R_k`` count every sample scored at least that high,
      so tied scores enter as one step. Classes with no positive are left out of the mean; if
      no class has a positive, ``ValueError`` is raised.

    Thresholded metrics, with predictions ``y_hat = pred >= thr`` and ``y = target == 1``:

    - ``hamming_accuracy``: ``1 - mean over all N*C entries of [y != y_hat]``.
    - ``example_f1``: mean over samples of ``2|y & y_hat| / (|y| + |y_hat|)``, leaving out
      the samples with ``|y| + |y_hat| = 0`` (nothing to get right or wrong). If every sample
      is left out the value is 0.0.
    - ``macro_f1``: mean over ALL C classes of ``2TP / (2TP + FP + FN)``; a class with no
      positive and no prediction contributes 0 (as scikit-learn with ``zero_division=0``).
    - ``micro_f1``: ``2 sum(TP) / (2 sum(TP) + sum(FP) + sum(FN))`` over all entries, 0 if
      the denominator is 0.
    - ``precision@1``: share of samples whose top-scored class is positive. Ties in the top
      score are broken by the lowest class index.

    ``mlgcn=True`` adds the ML-GCN family at the same threshold. Per class: ``Ng`` = number
    of positives, ``Np`` = number of predicted positives (``Np = 0`` replaced by 1, as
    ML-GCN's code does, which also enters the sum in ``OP``), ``Nc`` = number of correct
    (true positive) predictions:

    - ``CP`` = mean over all classes of ``Nc / Np``.
    - ``CR`` = mean over the classes with ``Ng > 0`` of ``Nc / Ng``.
    - ``CF1`` = ``2 CP CR / (CP + CR)``, 0 if both are 0.
    - ``OP`` = ``sum(Nc) / sum(Np)``; ``OR`` = ``sum(Nc) / sum(Ng)``;
      ``OF1`` = ``2 OP OR / (OP + OR)``, 0 if both are 0.
    - ``CP_top3``, ``CR_top3``, ``CF1_top3``, ``OP_top3``, ``OR_top3``, ``OF1_top3``: the
      same, where only each sample's 3 highest-scored classes (``min(3, C)``; ties broken by
      the lowest class index) may be predicted positive, and only if their score is
      ``>= thr``.

    ``oracle=True`` adds the threshold sweep of MulSupCon / C-GMVAE. For ``t`` in 0.1, 0.2,
    ..., 0.9 it computes ``hamming_accuracy``, ``example_f1``, ``micro_f1`` (definitions
    above) and ``macro_f1`` with the reference's denominator ``2TP + FP + FN + 1e-6``; each
    metric's maximum over ``t`` is taken SEPARATELY and reported as
    ``oracle_hamming_accuracy``, ``oracle_example_f1``, ``oracle_micro_f1`` and
    ``oracle_macro_f1``, with the chosen thresholds (plain numbers such as 0.3, the lowest
    one on a tie) as ``oracle_hamming_accuracy_thr``, ``oracle_example_f1_thr``,
    ``oracle_micro_f1_thr`` and ``oracle_macro_f1_thr``. NOTE: this chooses the threshold on
    the evaluated split itself, i.e. it is an oracle (as the papers do), not a fair test
    score.

    ``attributes=True`` adds the pedestrian-attribute metrics of the PETA protocol at the
    same threshold (Deng et al. 2014; e.g. Jia et al. 2020): ``mA``, the label-based mean
    accuracy ``mean over classes of (TPR + TNR) / 2`` with ``TPR = TP / (TP + FN)`` and
    ``TNR = TN / (TN + FP)`` (a rate whose denominator is 0 counts as 0), and the
    instance-based ``instance_accuracy`` (mean over samples of ``|y & y_hat| / |y | y_hat|``),
    ``instance_precision`` (``|y & y_hat| / |y_hat|``), ``instance_recall``
    (``|y & y_hat| / |y|``), each per-sample ratio 0 where its denominator is 0, and
    ``instance_f1 = 2 P R / (P + R)`` of the mean precision and mean recall.
    :func:`val_chosen_metrics` evaluates a test split at thresholds chosen on a validation
    split.

    ``bce=True`` adds ``bce``: the mean binary cross-entropy
    ``-mean(y log p + (1 - y) log(1 - p))`` over the non-ignored entries, as a plain number
    (not a percentage), with ``p`` clipped to ``[1e-7, 1 - 1e-7]``. It is MulSupCon's model
    selection criterion (the epoch with the lowest validation BCE), e.g. as the monitor of
    ``CheckpointHook(save_best='multi-label/bce', rule='less')`` and of mmengine's
    ``ReduceOnPlateauLR``.

    Args:
        thr (float): Threshold on the probabilities for the thresholded metrics, in (0, 1).
            Defaults to 0.5.
        oracle (bool): Also report the oracle threshold sweep. Defaults to False.
        mlgcn (bool): Also report the ML-GCN CP/CR/CF1/OP/OR/OF1 family (and its top-3
            variant). Defaults to False.
        bce (bool): Also report the mean binary cross-entropy ``bce``. Defaults to False.
        attributes (bool): Also report ``mA`` and the instance-based metrics. Defaults to
            False.
        collect_device (str): Device used to collect results across ranks, ``'cpu'`` or
            ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the logged keys. Defaults to None, which uses
            ``'multi-label'``.

    Examples:
        >>> import torch
        >>> from mlcl_plugin.evaluation.metrics import MultiLabelPaperMetric
        >>> pred = torch.tensor([[0.9, 0.2, 0.6],   # N x C probabilities
        ...                      [0.1, 0.8, 0.3]])
        >>> target = torch.tensor([[1, 0, 1],        # N x C multi-hot
        ...                        [0, 1, 1]])
        >>> results = MultiLabelPaperMetric.calculate(pred, target)
        >>> round(results['mAP'], 2), round(results['example_f1'], 2)
        (100.0, 83.33)
        >>> # In a config, the runner logs 'multi-label/mAP', 'multi-label/example_f1', ...
        >>> val_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True)
    """

    default_prefix: Optional[str] = 'multi-label'

    def __init__(self,
                 thr: float = 0.5,
                 oracle: bool = False,
                 mlgcn: bool = False,
                 bce: bool = False,
                 attributes: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        _check_thr(thr)
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thr = float(thr)
        self.oracle = oracle
        self.mlgcn = mlgcn
        self.bce = bce
        self.attributes = attributes

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store the scores and multi-hot targets of a batch as CPU tensors.

        Args:
            data_batch: The batch from the dataloader (unused).
            data_samples (Sequence[dict]): The outputs of the model, as dicts (mmengine
                passes ``DataSample.to_dict()``) with ``pred_score`` (C probabilities) and
                either ``gt_score`` (C, multi-hot) or ``gt_label`` (class indices).
        """
        for sample in data_samples:
            if 'pred_score' not in sample:
                raise KeyError('data sample has no pred_score: the model must output '
                               'probabilities (DataSample.set_pred_score)')
            pred = torch.as_tensor(sample['pred_score']).detach().cpu().flatten()
            num_classes = pred.numel()
            if 'gt_score' in sample:
                target = torch.as_tensor(sample['gt_score']).detach().cpu().flatten()
                if target.numel() != num_classes:
                    raise ValueError('gt_score and pred_score must have the same shape, got '
                                     f'gt_score of shape {tuple(target.shape)} and '
                                     f'pred_score of shape {tuple(pred.shape)}')
            elif 'gt_label' in sample:
                target = _label_to_multi_hot(sample['gt_label'], num_classes)
            else:
                raise KeyError('data sample has neither gt_score nor gt_label')
            self.results.append({'pred_score': pred, 'gt_score': target})

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Stack the stored samples and compute the metrics.

        Args:
            results (List[dict]): The processed results of all samples.

        Returns:
            Dict[str, float]: The metrics (without prefix, which BaseMetric adds).
        """
        if len(results) == 0:
            raise ValueError('cannot evaluate an empty input: no sample was processed')
        sizes = {res['pred_score'].numel() for res in results}
        if len(sizes) > 1:
            raise ValueError(f'all samples must have the same number of classes, got {sizes}')
        pred = torch.stack([res['pred_score'] for res in results])  # N x C
        target = torch.stack([res['gt_score'] for res in results])  # N x C
        return self.calculate(pred, target, thr=self.thr, oracle=self.oracle,
                              mlgcn=self.mlgcn, bce=self.bce, attributes=self.attributes)

    @staticmethod
    def calculate(pred: ArrayLike,
                  target: ArrayLike,
                  thr: float = 0.5,
                  oracle: bool = False,
                  mlgcn: bool = False,
                  bce: bool = False,
                  attributes: bool = False,
                  chunk_size: Optional[int] = None) -> Dict[str, float]:
        """Compute the metrics of the class docstring, usable without a runner.

        The work goes in blocks of at most about ``chunk_size`` matrix entries, so the
        memory beyond the inputs stays bounded (float32 scores are not copied to float64);
        the values do not depend on the block size.

        Args:
            pred (torch.Tensor | np.ndarray | Sequence): Probabilities in [0, 1], N x C.
            target (torch.Tensor | np.ndarray | Sequence): 1 positive, 0 negative, -1
                ignored, N x C.
            thr (float): Threshold of the thresholded metrics, in (0, 1). Defaults to 0.5.
            oracle (bool): Add the oracle threshold sweep. Defaults to False.
            mlgcn (bool): Add the ML-GCN family (and its top-3 variant). Defaults to False.
            bce (bool): Add the mean binary cross-entropy ``bce``. Defaults to False.
            attributes (bool): Add ``mA`` and the instance-based metrics. Defaults to False.
            chunk_size (int, optional): Most matrix entries (samples x classes) a pass holds
                at once. Defaults to None, which uses ``CHUNK_SIZE`` (about 4 million).

        Returns:
            Dict[str, float]: ``mAP``, ``hamming_accuracy``, ``example_f1``, ``macro_f1``,
            ``micro_f1``, ``precision@1`` in percent, plus the ML-GCN and oracle keys when
            asked for (oracle thresholds as plain numbers, ``bce`` as a plain number).
        """
        _check_thr(thr)
        if chunk_size is None:
            chunk_size = CHUNK_SIZE
        elif isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f'chunk_size must be a positive integer, got {chunk_size!r}')
        pred, target, has_ignored = _prepare(pred, target, chunk_size)  # N x C each
        num_samples, num_classes = pred.shape
        num_entries = num_samples * num_classes

        # The evaluated threshold and the oracle ones are all counted in one pass.
        thresholds = np.unique(np.append(ORACLE_THRESHOLDS if oracle else [], float(thr)))
        counts = _class_pass(pred, target, thresholds, has_ignored, chunk_size)
        ap = counts['ap']  # C, NaN for classes without positives
        if np.isnan(ap).all():
            raise ValueError('mAP is undefined: no class has a positive target')
        results = {'mAP': float(np.nanmean(ap)) * 100}

        def at(index):
            """The count arguments of the thresholded formulas at ``thresholds[index]``."""
            return (counts['class_tp'][index], counts['class_hit'][index], counts['class_pos'],
                    counts['sample_tp'][index], counts['sample_hit'][index],
                    counts['sample_gt'])

        # The ignored -1 entries are negatives from here on (the counts treat them so).
        main = int(np.searchsorted(thresholds, thr))
        results.update({k: float(v) * 100
                        for k, v in _thresholded_counts(*at(main), num_entries).items()})
        # np.argmax returns the first maximum, i.e. the lowest class index on a tie.
        top1 = pred.argmax(axis=1)  # N
        results['precision@1'] = float(
            (target[np.arange(num_samples), top1] == 1).mean()) * 100

        if attributes:
            results.update({k: v * 100
                            for k, v in _attribute_counts(*at(main), num_samples).items()})

        if mlgcn:
            num_gt = counts['class_pos']
            num_pred, num_correct = counts['class_hit'][main], counts['class_tp'][main]
            results.update({k: v * 100 for k, v in
                            _mlgcn_counts(num_gt, num_pred, num_correct).items()})
            k = min(3, num_classes)
            if k < num_classes:  # otherwise every class is in the top k: the same counts
                num_pred, num_correct = _top_k_counts(pred, target, thr, k, chunk_size)
            results.update({f'{k_}_top3': v * 100 for k_, v in
                            _mlgcn_counts(num_gt, num_pred, num_correct).items()})

        if oracle:
            # One threshold at a time keeps the temporaries at N (not T x N) values; a row of
            # a T x N sum is the same sum as the row alone, so the values do not change.
            sweep = [_thresholded_counts(*at(index), num_entries, macro_eps=1e-6)
                     for index in np.searchsorted(thresholds, ORACLE_THRESHOLDS)]
            for name in ('hamming_accuracy', 'example_f1', 'micro_f1', 'macro_f1'):
                values = [float(values[name]) for values in sweep]
                best = int(np.argmax(values))  # the lowest threshold on a tie
                results[f'oracle_{name}'] = values[best] * 100
                results[f'oracle_{name}_thr'] = float(ORACLE_THRESHOLDS[best])

        if bce:
            results['bce'] = _mean_bce(pred, target, has_ignored, chunk_size)
        return results


def _check_thr(thr: float) -> None:
    """Raise ``ValueError`` unless ``0 < thr < 1``."""
    if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not 0 < thr < 1:
        raise ValueError(f'thr must be a number in (0, 1), got {thr!r}')


def _label_to_multi_hot(label, num_classes: int) -> torch.Tensor:
    """Turn class indices into a multi-hot vector of length ``num_classes``."""
    label = torch.as_tensor(label).detach().cpu().flatten().long()
    bad = label[(label < 0) | (label >= num_classes)]
    if bad.numel():
        raise ValueError(f'gt_label index {int(bad[0])} is out of range for C={num_classes} '
                         'classes (the length of pred_score)')
    target = torch.zeros(num_classes)
    target[label] = 1
    return target
