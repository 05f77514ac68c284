# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Co-occurrence counts and rates against a plain loop."""
import numpy as np
import pytest

from mlcl_plugin.analysis.cooccurrence import label_cooccurrence


def test_cooccurrence_matches_loop_reference():
    rng = np.random.default_rng(1)
    n, c, thr = 40, 5, 0.4
    targets = (rng.random((n, c)) < 0.3).astype(np.int64)
    targets[:, 4] = 0  # a class without samples: NaN rows
    scores = rng.random((n, c))
    res = label_cooccurrence(scores, targets, thr)

    true = np.zeros((c, c), dtype=np.int64)
    pred = np.zeros((c, c), dtype=np.int64)
    cross = np.zeros((c, c), dtype=np.int64)
    for s in range(n):
        for i in range(c):
            for j in range(c):
                true[i, j] += int(targets[s, i] == 1 and targets[s, j] == 1)
                pred[i, j] += int(scores[s, i] >= thr and scores[s, j] >= thr)
                cross[i, j] += int(targets[s, i] == 1 and scores[s, j] >= thr)
    np.testing.assert_array_equal(res.true_counts, true)
    np.testing.assert_array_equal(res.pred_counts, pred)
    np.testing.assert_array_equal(res.cross_counts, cross)
    diffs = []
    for i in range(c):
        for j in range(c):
            t = true[i, j] / true[i, i] if true[i, i] else np.nan
            p = pred[i, j] / pred[i, i] if pred[i, i] else np.nan
            x = cross[i, j] / true[i, i] if true[i, i] else np.nan
            np.testing.assert_equal(res.true_rates[i, j], t)
            np.testing.assert_equal(res.pred_rates[i, j], p)
            np.testing.assert_equal(res.cross_rates[i, j], x)
            if i != j and not (np.isnan(t) or np.isnan(p)):
                diffs.append(abs(p - t))
    assert res.gap == pytest.approx(sum(diffs) / len(diffs))
    assert np.isnan(res.true_rates[4]).all()


def test_cooccurrence_rejects_bad_input():
    with pytest.raises(ValueError, match='N x C'):
        label_cooccurrence(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match='threshold'):
        label_cooccurrence(np.zeros((3, 2)), np.zeros((3, 2)), thr=1.5)
    with pytest.raises(ValueError, match='NaN'):
        label_cooccurrence(np.full((3, 2), np.nan), np.zeros((3, 2)))
