# Copyright (c) mlcl_plugin authors. All rights reserved.
"""MultiLabelPaperMetric's block-wise computation: the same values whatever the block size.

Small ``chunk_size`` values make every pass run over many blocks (down to one class or one
sample per block) on shapes that stay fast; the results are compared with one block, with
the dense N x C formulation (boolean matrices and a stable sort) and with scikit-learn.
"""
import numpy as np
import pytest
import torch

from mlcl_plugin.evaluation.metrics import MultiLabelPaperMetric
from mlcl_plugin.evaluation.metrics.multi_label_paper import (
    ORACLE_THRESHOLDS,
    _attributes,
    _mlgcn,
    _row_search,
    _thresholded,
)
from tests.test_evaluation.test_multi_label_paper import _reference_map

calc = MultiLabelPaperMetric.calculate
ALL = dict(oracle=True, mlgcn=True, attributes=True, bce=True)


def _case(seed, num_samples=90, num_classes=11, decimals=1, ignore=True, dtype=np.float64):
    """Scores with many ties, a class without positives, ignored entries and -0.0 scores."""
    rng = np.random.default_rng(seed)
    pred = np.round(rng.random((num_samples, num_classes)), decimals).astype(dtype)
    pred[rng.random(pred.shape) < 0.05] = -0.  # equal to 0: ties with the zeros
    target = (rng.random((num_samples, num_classes)) < 0.25).astype(np.int64)
    target[:, 3] = 0  # no positive
    target[:, 4] = 1  # no negative
    target[0] = 0  # a sample without labels
    if ignore:
        target[rng.random(target.shape) < 0.1] = -1
    return pred, target


def _dense_reference(pred, target, thr):
    """Every thresholded key from N x C boolean matrices, the top-3 from a stable sort."""
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(target) == 1
    hit = pred >= thr
    res = {k: float(v) * 100 for k, v in _thresholded(gt, hit).items()}
    res.update({k: v * 100 for k, v in _attributes(gt, hit).items()})
    res.update({k: v * 100 for k, v in _mlgcn(gt, hit).items()})
    top = np.argsort(-pred, axis=1, kind='stable')[:, :min(3, pred.shape[1])]
    in_top = np.zeros_like(hit)
    np.put_along_axis(in_top, top, True, axis=1)
    res.update({f'{k}_top3': v * 100 for k, v in _mlgcn(gt, hit & in_top).items()})
    sweep = [_thresholded(gt, pred >= t, macro_eps=1e-6) for t in ORACLE_THRESHOLDS]
    for name in ('hamming_accuracy', 'example_f1', 'micro_f1', 'macro_f1'):
        values = [float(s[name]) for s in sweep]
        best = int(np.argmax(values))
        res[f'oracle_{name}'] = values[best] * 100
        res[f'oracle_{name}_thr'] = float(ORACLE_THRESHOLDS[best])
    prob = np.clip(pred, 1e-7, 1 - 1e-7)
    entry = -np.where(gt, np.log(prob), np.log1p(-prob))
    res['bce'] = float(entry[np.asarray(target) != -1].mean())
    return res


def _assert_same(res, ref):
    assert set(res) == set(ref)
    for key, value in ref.items():
        assert res[key] == value, (key, res[key], value)


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('dtype', [np.float64, np.float32])
@pytest.mark.parametrize('thr', [0.5, 0.3, 0.25])
def test_chunked_equals_one_block_and_dense(seed, dtype, thr):
    pred, target = _case(seed, decimals=1 + seed % 2, dtype=dtype)
    one_block = calc(pred, target, thr=thr, chunk_size=10**9, **ALL)
    # 1: one class (and one sample) per block; 11 * 90 // 7: a block of classes ends mid-way
    for chunk_size in (1, 7, 50, 11 * 90 // 7):
        _assert_same(calc(pred, target, thr=thr, chunk_size=chunk_size, **ALL), one_block)
    dense = _dense_reference(pred, target, thr)
    for key, value in dense.items():
        assert one_block[key] == value, key  # bit for bit, the same formulas of the counts
    assert one_block['mAP'] == pytest.approx(_reference_map(pred, target), rel=1e-12)


@pytest.mark.parametrize('chunk_size', [None, 1000, 4999])
def test_chunked_larger_than_numpy_sum_blocks(chunk_size):
    # over 8192 entries per class and per BCE vector: NumPy's summation blocks come into play
    rng = np.random.default_rng(7)
    pred = rng.random((9000, 4)).astype(np.float32)
    pred[:, 1] = np.round(pred[:, 1], 2)
    target = (rng.random(pred.shape) < 0.2).astype(np.float32)
    target[rng.random(pred.shape) < 0.05] = -1
    res = calc(pred, target, **ALL, chunk_size=chunk_size)
    dense = _dense_reference(pred, target, 0.5)
    for key, value in dense.items():
        assert res[key] == value, key
    assert res['mAP'] == pytest.approx(_reference_map(pred, target), rel=1e-12)


def test_map_hand_ties_and_ignored_in_small_blocks():
    # class 0: {0.8: pos, neg, ignored} P=1/2 R=1/2, {0.5: pos, ignored} P=2/3 R=1 -> 7/12
    # class 1: {0.4: pos, pos, neg, neg} P=1/2 R=1 -> 1/2
    pred = [[0.8, 0.4],
            [0.8, 0.4],
            [0.8, 0.4],
            [0.5, 0.4],
            [0.5, 0.1]]
    target = [[1, 1],
              [-1, 0],
              [0, 1],
              [1, 0],
              [-1, -1]]
    for chunk_size in (1, 2, 5, None):
        res = calc(pred, target, chunk_size=chunk_size)
        assert res['mAP'] == pytest.approx(100 * (7 / 12 + 1 / 2) / 2)


def test_single_class_and_all_tied():
    pred = np.full((30, 1), 0.6)
    target = np.zeros((30, 1))
    target[::3] = 1
    res = calc(pred, target, oracle=True, chunk_size=4)
    assert res['mAP'] == pytest.approx(100 / 3)  # one tie group: AP = precision = 1/3
    assert res['oracle_micro_f1_thr'] == 0.1  # every threshold up to 0.6 ties: the lowest
    rng = np.random.default_rng(3)
    pred, target = rng.random((200, 1)), (rng.random((200, 1)) < 0.3).astype(int)
    assert calc(pred, target, chunk_size=7)['mAP'] == pytest.approx(
        _reference_map(pred, target), rel=1e-12)


def test_float32_scores_at_the_thresholds():
    # float32(0.7) < 0.7 and float32(0.1) > 0.1: the comparison must be that of float64
    values = []
    for t in np.append(ORACLE_THRESHOLDS, 0.35):
        near = np.float32(t)
        values += [near, np.nextafter(near, np.float32(0)), np.nextafter(near, np.float32(1))]
    rng = np.random.default_rng(5)
    pred32 = rng.choice(np.array(values, dtype=np.float32), size=(60, 8))
    target = (rng.random((60, 8)) < 0.4).astype(np.int64)
    target[0, 0] = 1
    as64 = pred32.astype(np.float64)
    for thr in (0.7, 0.35):
        res32 = calc(pred32, target, thr=thr, chunk_size=40, **ALL)
        _assert_same(res32, calc(as64, target, thr=thr, **ALL))
        _assert_same(calc(torch.from_numpy(pred32), torch.from_numpy(target), thr=thr, **ALL),
                     res32)
        hit = as64 >= thr
        assert res32['micro_f1'] == pytest.approx(100 * 2 * (hit & (target == 1)).sum() / (
            hit.sum() + (target == 1).sum()))


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_inputs_are_not_modified(dtype):
    pred, target = _case(4, dtype=dtype)
    pred_copy, target_copy = pred.copy(), target.copy()
    calc(pred, target, chunk_size=13, **ALL)
    np.testing.assert_array_equal(pred, pred_copy)
    assert np.signbit(pred).any()  # the -0.0 scores are still there
    np.testing.assert_array_equal(target, target_copy)


def test_target_dtypes():
    pred, target = _case(5)
    expected = calc(pred, target, **ALL)
    for converted in (target.astype(np.int8), target.astype(np.float32), target.tolist(),
                      torch.from_numpy(target).to(torch.bfloat16)):
        _assert_same(calc(pred, converted, chunk_size=33, **ALL), expected)
    no_ignored = np.maximum(target, 0)
    _assert_same(calc(pred, no_ignored.astype(bool), **ALL), calc(pred, no_ignored, **ALL))


def test_first_bad_target_in_row_major_order_across_blocks():
    target = np.zeros((6, 3))
    target[0, 0] = 1
    target[2, 2] = 0.5
    target[4, 0] = 2
    with pytest.raises(ValueError, match='bad value 0.5'):
        calc(np.full((6, 3), 0.4), target, chunk_size=3)  # one row per block


@pytest.mark.parametrize('chunk_size', [0, -5, 1.5, True, '100'])
def test_bad_chunk_size(chunk_size):
    with pytest.raises(ValueError, match='chunk_size must be a positive integer'):
        calc([[0.5]], [[1]], chunk_size=chunk_size)


def test_row_search_matches_searchsorted():
    rng = np.random.default_rng(0)
    rows = np.sort(rng.integers(0, 50, size=(6, 40)), axis=1).astype(np.uint64)
    query_rows = rng.integers(0, 6, size=300)
    values = rng.integers(-1, 52, size=300).clip(0).astype(np.uint64)
    found = _row_search(rows.ravel(), 40, query_rows, values)
    expected = [np.searchsorted(rows[r], v, side='left') for r, v in zip(query_rows, values)]
    np.testing.assert_array_equal(found, expected)
