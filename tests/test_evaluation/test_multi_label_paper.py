# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Tests of MultiLabelPaperMetric against scikit-learn, plain loops and hand-computed values."""
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample
from sklearn.metrics import average_precision_score, f1_score, hamming_loss

import mlcl_plugin  # noqa: F401  (registers the metric into mmpretrain's METRICS)
from mlcl_plugin.evaluation.metrics import MultiLabelPaperMetric
from mlcl_plugin.evaluation.metrics.multi_label_paper import _thresholded

calc = MultiLabelPaperMetric.calculate
THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def _random_case(seed, num_samples=60, num_classes=7, decimals=1, ignore=False):
    """Scores rounded to create ties, one class without positives, one sample without labels."""
    rng = np.random.default_rng(seed)
    pred = np.round(rng.random((num_samples, num_classes)), decimals)
    target = (rng.random((num_samples, num_classes)) < 0.3).astype(np.int64)
    target[:, 2] = 0  # a class with no positive
    target[0] = 0  # a sample with no label
    pred[1] = 0.05  # a sample with no prediction at any threshold
    if ignore:
        target[rng.random(target.shape) < 0.1] = -1
    return pred, target


def _reference_map(pred, target):
    aps = []
    for c in range(target.shape[1]):
        kept = target[:, c] != -1
        if (target[kept, c] == 1).any():
            aps.append(average_precision_score(target[kept, c], pred[kept, c]))
    return 100 * float(np.mean(aps))


def _reference_example_f1(gt, hit):
    # Plain loop; unlike sklearn's average='samples', samples with |y| + |y_hat| = 0 are
    # left out instead of counted as 0.
    scores = []
    for y, y_hat in zip(gt, hit):
        size = y.sum() + y_hat.sum()
        if size > 0:
            scores.append(2 * (y & y_hat).sum() / size)
    return 100 * float(np.mean(scores)) if scores else 0.


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
@pytest.mark.parametrize('ignore', [False, True])
def test_random_against_sklearn(seed, ignore):
    pred, target = _random_case(seed, ignore=ignore)
    res = calc(pred, target, thr=0.5)
    gt = target == 1  # -1 is a negative in the thresholded metrics
    hit = pred >= 0.5
    assert res['mAP'] == pytest.approx(_reference_map(pred, target), abs=1e-6)
    assert res['hamming_accuracy'] == pytest.approx(100 * (1 - hamming_loss(gt, hit)), abs=1e-6)
    assert res['example_f1'] == pytest.approx(_reference_example_f1(gt, hit), abs=1e-6)
    # sklearn's macro with zero_division=0 gives 0 to a class with no positive and no
    # prediction, which is our rule.
    for avg in ('macro', 'micro'):
        ref = 100 * f1_score(gt, hit, average=avg, zero_division=0)
        assert res[f'{avg}_f1'] == pytest.approx(ref, abs=1e-6)
    top1 = np.argmax(pred, axis=1)
    assert res['precision@1'] == pytest.approx(100 * gt[np.arange(len(gt)), top1].mean())
    assert all(isinstance(v, float) for v in res.values())


@pytest.mark.parametrize('seed', [4, 5])
def test_map_many_ties_and_input_types(seed):
    pred, target = _random_case(seed, num_samples=40, num_classes=5, decimals=0)  # 0 or 1
    ref = _reference_map(pred, target)
    assert calc(pred, target)['mAP'] == pytest.approx(ref, abs=1e-6)
    assert calc(torch.tensor(pred, dtype=torch.float32), torch.tensor(target))['mAP'] == \
        pytest.approx(ref, abs=1e-6)
    assert calc(pred.tolist(), target.tolist())['mAP'] == pytest.approx(ref, abs=1e-6)


def test_map_hand_ties_absent_class_and_ignore():
    pred = [[0.8, 0.9, 0.5],
            [0.8, 0.1, 0.5],
            [0.5, 0.4, 0.5],
            [0.3, 0.4, 0.5]]
    target = [[1, 0, 0],
              [0, 0, 0],
              [1, 1, 0],
              [0, 0, 0]]
    # class 0: {0.8: 1 pos + 1 neg} P=1/2 R=1/2, {0.5: pos} P=2/3 R=1 -> 1/4 + 1/3 = 7/12
    # class 1: 0.9 neg, {0.4: 1 pos + 1 neg} P=1/3 R=1 -> 1/3
    # class 2: no positive, left out of the mean
    assert calc(pred, target)['mAP'] == pytest.approx(100 * (7 / 12 + 1 / 3) / 2)
    # -1 is left out of the AP: the top-scored negative of class 1 ignored -> P=1/2
    target[0][1] = -1
    assert calc(pred, target)['mAP'] == pytest.approx(100 * (7 / 12 + 1 / 2) / 2)


def test_thresholded_hand_empty_rows_absent_class():
    pred = [[0.9, 0.1, 0.1],
            [0.2, 0.3, 0.1],
            [0.6, 0.7, 0.1]]
    target = [[1, 0, 0],
              [0, 0, 0],
              [0, 1, 0]]
    # y_hat = [[1, 0, 0], [0, 0, 0], [1, 1, 0]]
    res = calc(pred, target)
    assert res['hamming_accuracy'] == pytest.approx(100 * 8 / 9)  # one wrong entry of 9
    # sample 0: 2*1/2 = 1; sample 1 left out (empty); sample 2: 2*1/(1+2) = 2/3
    assert res['example_f1'] == pytest.approx(100 * 5 / 6)
    # class 0: 2/(2+1) ; class 1: 1 ; class 2 (no positive, no prediction): 0
    assert res['macro_f1'] == pytest.approx(100 * (2 / 3 + 1 + 0) / 3)
    assert res['micro_f1'] == pytest.approx(100 * 4 / 5)  # TP=2, FP=1, FN=0
    assert res['precision@1'] == pytest.approx(100 * 2 / 3)  # sample 1's top (class 1) is 0
    assert res['mAP'] == pytest.approx(100.)


def test_example_f1_all_samples_left_out_is_zero():
    # Unreachable through calculate (mAP needs a positive), hence the helper directly.
    gt = np.zeros((2, 3), dtype=bool)
    out = _thresholded(gt, gt.copy())
    assert out['example_f1'] == 0.
    assert out['hamming_accuracy'] == 1.


def test_precision_at_1_ties_lowest_index():
    pred = [[0.7, 0.7, 0.1],
            [0.2, 0.5, 0.5]]
    # ties: sample 0 -> class 0, sample 1 -> class 1 (the lowest index)
    assert calc(pred, [[1, 0, 0], [0, 1, 0]])['precision@1'] == pytest.approx(100.)
    assert calc(pred, [[0, 1, 0], [0, 0, 1]])['precision@1'] == pytest.approx(0.)


def test_mlgcn_hand_3x3():
    pred = [[0.9, 0.6, 0.1],
            [0.8, 0.2, 0.3],
            [0.3, 0.4, 0.2]]
    target = [[1, 1, 0],
              [0, 1, 0],
              [1, 1, 0]]
    # y_hat = [[1, 1, 0], [1, 0, 0], [0, 0, 0]]
    # class 0: Ng=2 Np=2 Nc=1; class 1: Ng=3 Np=1 Nc=1; class 2: Ng=0 Np=0->1 Nc=0
    res = calc(pred, target, mlgcn=True)
    cp, cr = (1 / 2 + 1 + 0) / 3, (1 / 2 + 1 / 3) / 2  # CR only over classes with Ng > 0
    op, orc = 2 / 4, 2 / 5  # OP's sum of Np includes the replaced 1 of class 2
    assert res['CP'] == pytest.approx(100 * cp)
    assert res['CR'] == pytest.approx(100 * cr)
    assert res['CF1'] == pytest.approx(100 * 5 / 11)
    assert res['OP'] == pytest.approx(100 * op)
    assert res['OR'] == pytest.approx(100 * orc)
    assert res['OF1'] == pytest.approx(100 * 4 / 9)
    # C = 3: the top-3 variant keeps every class
    for key in ('CP', 'CR', 'CF1', 'OP', 'OR', 'OF1'):
        assert res[f'{key}_top3'] == pytest.approx(res[key])
    assert 'CP' not in calc(pred, target)


def test_mlgcn_top3_hand():
    pred = [[0.9, 0.8, 0.7, 0.6],  # 4 above thr: class 3 is not in the top 3
            [0.6, 0.6, 0.6, 0.6],  # all tied: the lowest indices 0, 1, 2 are the top 3
            [0.1, 0.2, 0.3, 0.9]]  # top 3 is {3, 2, 1} but only class 3 is >= thr
    target = [[1, 0, 0, 1],
              [0, 0, 0, 1],
              [0, 0, 1, 1]]
    res = calc(pred, target, mlgcn=True)
    # top 3: class 0: Ng=1 Np=2 Nc=1; 1: Ng=0 Np=2 Nc=0; 2: Ng=1 Np=2 Nc=0; 3: Ng=3 Np=1 Nc=1
    assert res['CP_top3'] == pytest.approx(100 * 3 / 8)
    assert res['CR_top3'] == pytest.approx(100 * 4 / 9)
    assert res['CF1_top3'] == pytest.approx(100 * 24 / 59)
    assert res['OP_top3'] == pytest.approx(100 * 2 / 7)
    assert res['OR_top3'] == pytest.approx(100 * 2 / 5)
    assert res['OF1_top3'] == pytest.approx(100 / 3)
    # all classes: class 3 gets Np=3 Nc=3
    assert res['CP'] == pytest.approx(100 * 3 / 8)
    assert res['CR'] == pytest.approx(100 * 2 / 3)
    assert res['OP'] == pytest.approx(100 * 4 / 9)
    assert res['OR'] == pytest.approx(100 * 4 / 5)


def test_mlgcn_fewer_than_3_classes():
    pred = [[0.9, 0.6], [0.2, 0.7]]
    res = calc(pred, [[1, 0], [0, 1]], mlgcn=True)
    for key in ('CP', 'CR', 'CF1', 'OP', 'OR', 'OF1'):
        assert res[f'{key}_top3'] == pytest.approx(res[key])


def test_mlgcn_zero_f1():
    res = calc([[0.1, 0.9], [0.2, 0.1]], [[1, 0], [1, 0]], mlgcn=True)
    assert res['CP'] == res['CR'] == res['CF1'] == 0.
    assert res['OP'] == res['OR'] == res['OF1'] == 0.


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_oracle_against_loop(seed):
    pred, target = _random_case(seed, num_samples=40, num_classes=6, decimals=2)
    res = calc(pred, target, oracle=True)
    gt = target == 1
    best = {}
    for t in THRESHOLDS:
        hit = pred >= t
        tp = (gt & hit).sum(0)
        den = 2 * tp + (~gt & hit).sum(0) + (gt & ~hit).sum(0)
        values = {
            'hamming_accuracy': 100 * (1 - hamming_loss(gt, hit)),
            'example_f1': _reference_example_f1(gt, hit),
            'micro_f1': 100 * f1_score(gt, hit, average='micro', zero_division=0),
            'macro_f1': 100 * float(np.mean(2 * tp / (den + 1e-6))),
        }
        for name, value in values.items():
            if name not in best or value > best[name][0] + 1e-9:  # first max wins a tie
                best[name] = (value, t)
    for name, (value, t) in best.items():
        assert res[f'oracle_{name}'] == pytest.approx(value, abs=1e-6)
        assert res[f'oracle_{name}_thr'] == t
    assert 'oracle_micro_f1' not in calc(pred, target)


def test_oracle_threshold_is_plain_number():
    res = calc([[0.35, 0.25], [0.25, 0.32]], [[1, 0], [0, 1]], oracle=True)  # only 0.3 is right
    assert res['oracle_micro_f1'] == pytest.approx(100.)
    assert res['oracle_micro_f1_thr'] == 0.3
    assert res['oracle_hamming_accuracy_thr'] == 0.3


def _samples(pred, target, use_score):
    samples = []
    for p, y in zip(pred, target):
        sample = DataSample().set_pred_score(torch.tensor(p, dtype=torch.float32))
        if use_score:
            sample.set_gt_score(torch.tensor(y, dtype=torch.float32))
        else:
            sample.set_gt_label([int(i) for i in np.flatnonzero(y)])
        samples.append(sample)
    return samples


@pytest.mark.parametrize('use_score', [False, True])
def test_evaluator_with_data_samples(use_score):
    pred, target = _random_case(0, num_samples=20, num_classes=5, decimals=2)
    pred = pred.astype(np.float32)  # what the model outputs
    evaluator = Evaluator(MultiLabelPaperMetric(mlgcn=True, oracle=True))
    samples = _samples(pred, target, use_score)
    for start in range(0, len(samples), 8):  # several batches
        evaluator.process(samples[start:start + 8])
    metrics = evaluator.evaluate(len(samples))
    expected = calc(pred, target, mlgcn=True, oracle=True)
    assert set(metrics) == {f'multi-label/{k}' for k in expected}
    for key in ('mAP', 'example_f1', 'macro_f1', 'micro_f1', 'hamming_accuracy',
                'precision@1', 'CF1_top3', 'oracle_micro_f1_thr'):
        assert metrics[f'multi-label/{key}'] == pytest.approx(expected[key])
    assert metrics['multi-label/mAP'] == pytest.approx(_reference_map(pred, target), abs=1e-6)


def test_prefix_and_thr():
    pred, target = [[0.9, 0.35], [0.2, 0.8]], [[1, 1], [0, 1]]
    evaluator = Evaluator(MultiLabelPaperMetric(thr=0.3, prefix='paper'))
    evaluator.process(_samples(pred, target, use_score=True))
    metrics = evaluator.evaluate(2)
    assert metrics['paper/micro_f1'] == pytest.approx(100.)
    assert metrics['paper/micro_f1'] != calc(pred, target)['micro_f1']


def test_build_from_registry():
    metric = METRICS.build({'type': 'MultiLabelPaperMetric', 'thr': 0.4, 'mlgcn': True})
    assert isinstance(metric, MultiLabelPaperMetric)
    assert metric.thr == 0.4
    assert metric.mlgcn
    assert not metric.oracle
    assert metric.prefix == 'multi-label'


@pytest.mark.parametrize('thr', [0, 1, 1.5, -0.1, None])
def test_bad_thr(thr):
    with pytest.raises(ValueError, match='thr must be a number in \\(0, 1\\)'):
        MultiLabelPaperMetric(thr=thr)
    with pytest.raises(ValueError, match='thr must be a number in \\(0, 1\\)'):
        calc([[0.5]], [[1]], thr=thr)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r'pred of shape \(2, 3\) and target of shape \(2, 4\)'):
        calc(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match='must be 2D'):
        calc([0.5, 0.2], [1, 0])
    with pytest.raises(ValueError, match='must be 2D'):
        calc(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match='empty input'):
        calc(np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match='look like logits.*pred_score must be probabilities'):
        calc([[2.3, -1.0]], [[1, 0]])
    with pytest.raises(ValueError, match='NaN'):
        calc([[float('nan'), 0.2]], [[1, 0]])
    with pytest.raises(ValueError, match='bad value 2'):
        calc([[0.5, 0.2]], [[2, 0]])
    with pytest.raises(ValueError, match='bad value 0.5'):
        calc([[0.5, 0.2]], [[0.5, 1]])
    with pytest.raises(ValueError, match='no class has a positive'):
        calc([[0.5, 0.2]], [[0, -1]])
    with pytest.raises(ValueError, match='equal-length rows'):
        calc([[0.5, 0.2], [0.1]], [[1, 0], [1]])


def test_bad_data_samples():
    metric = MultiLabelPaperMetric()
    sample = DataSample().set_pred_score(torch.tensor([0.1, 0.9, 0.3])).set_gt_label([1, 3])
    with pytest.raises(ValueError, match='gt_label index 3 is out of range for C=3'):
        metric.process(None, [sample.to_dict()])
    sample = {'pred_score': torch.tensor([0.1, 0.9]), 'gt_score': torch.tensor([0., 1, 1])}
    with pytest.raises(ValueError, match=r'gt_score of shape \(3,\) and pred_score of shape'):
        metric.process(None, [sample])
    with pytest.raises(KeyError, match='neither gt_score nor gt_label'):
        metric.process(None, [{'pred_score': torch.tensor([0.1, 0.9])}])
    with pytest.raises(KeyError, match='no pred_score'):
        metric.process(None, [{'gt_label': torch.tensor([0])}])
    with pytest.raises(ValueError, match='empty input'):
        metric.compute_metrics([])
    with pytest.raises(ValueError, match='look like logits'):
        metric.compute_metrics([{'pred_score': torch.tensor([3.0, -2.0]),
                                 'gt_score': torch.tensor([1., 0.])}])


@pytest.mark.parametrize('ignore', [False, True])
def test_bce_against_torch(ignore):
    """``bce`` is torch's BCE-with-logits (mean) of the logits whose sigmoid are the scores."""
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(40, 6, generator=gen, dtype=torch.float64) * 2
    target = (torch.rand(40, 6, generator=gen) < 0.4).double()
    if ignore:
        target[torch.rand(40, 6, generator=gen) < 0.2] = -1
    keep = target != -1
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        logits[keep], target[keep]).item()
    res = MultiLabelPaperMetric.calculate(torch.sigmoid(logits), target, bce=True)
    assert res['bce'] == pytest.approx(expected, rel=1e-9)
    assert 'bce' not in MultiLabelPaperMetric.calculate(torch.sigmoid(logits), target)
    # saturated probabilities stay finite (clipped) instead of giving inf
    sat = MultiLabelPaperMetric.calculate(torch.tensor([[1.0, 0.0]]), torch.tensor([[0, 1]]),
                                          bce=True)
    assert np.isfinite(sat['bce'])
    assert sat['bce'] > 15
