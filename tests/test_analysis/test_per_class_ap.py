# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Per-class AP: its mean is the plugin metric's mAP; the order sorts by the difference."""
import numpy as np
import pytest

from mlcl_plugin.analysis.per_class_ap import ap_difference_order, load_scores, per_class_ap
from mlcl_plugin.evaluation.metrics.multi_label_paper import MultiLabelPaperMetric


def test_per_class_ap_mean_is_the_metric_map():
    rng = np.random.default_rng(2)
    targets = (rng.random((50, 6)) < 0.3).astype(np.int64)
    targets[:, 5] = 0  # no positive: NaN, left out of the mean as by the metric
    scores = np.round(rng.random((50, 6)), 1)  # ties
    ap = per_class_ap(scores, targets)
    assert np.isnan(ap[5])
    assert np.isfinite(ap[:5]).all()
    expected = MultiLabelPaperMetric.calculate(scores, targets)['mAP']
    assert np.nanmean(ap) == pytest.approx(expected, rel=1e-9)


def test_difference_order_and_score_files(tmp_path):
    order, diff = ap_difference_order(np.array([50., 60., 70., np.nan]),
                                      np.array([55., 40., 90., 10.]))
    assert order.tolist() == [2, 0, 1, 3]
    np.testing.assert_allclose(diff[:3], [5., -20., 20.])
    path = tmp_path / 's.npz'
    np.savez(path, scores=np.zeros((2, 3)), targets=np.ones((2, 3)))
    scores, targets = load_scores(str(path))
    assert scores.shape == targets.shape == (2, 3)
    np.savez(tmp_path / 'bad.npz', scores=np.zeros((2, 3)))
    with pytest.raises(ValueError, match='lacks'):
        load_scores(str(tmp_path / 'bad.npz'))
    with pytest.raises(FileNotFoundError, match='missing.npz'):
        load_scores(str(tmp_path / 'missing.npz'))
