# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Tests of MultiLabelPaperMetric against scikit-learn, plain loops and hand-computed values."""
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    hamming_loss,
    jaccard_score,
    precision_score,
    recall_score,
)

import mlcl_plugin  # noqa: F401  (registers the metric into mmpretrain's METRICS)
from mlcl_plugin.evaluation.metrics import MultiLabelPaperMetric, val_chosen_metrics
from mlcl_plugin.evaluation.metrics.multi_label_paper import (
    THRESHOLDED_KEYS,
    _attributes,
    _thresholded,
)

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


# ----------------------------------------------------------------------------------------------
# PETA attribute metrics (attributes=True) and thresholds chosen on a validation split.

ATTRIBUTE_KEYS = ('mA', 'instance_accuracy', 'instance_precision', 'instance_recall',
                  'instance_f1')


def _reference_attributes(pred, target, thr):
    """mA and instance metrics in percent, by plain Python loops over classes and samples."""
    pred = np.asarray(pred, dtype=np.float64).tolist()
    target = np.asarray(target).tolist()
    num_samples, num_classes = len(target), len(target[0])
    gt = [[target[i][j] == 1 for j in range(num_classes)] for i in range(num_samples)]
    hit = [[pred[i][j] >= thr for j in range(num_classes)] for i in range(num_samples)]
    class_acc = []
    for j in range(num_classes):
        tp = fn = tn = fp = 0
        for i in range(num_samples):
            if gt[i][j] and hit[i][j]:
                tp += 1
            elif gt[i][j]:
                fn += 1
            elif hit[i][j]:
                fp += 1
            else:
                tn += 1
        tpr = tp / (tp + fn) if tp + fn > 0 else 0.
        tnr = tn / (tn + fp) if tn + fp > 0 else 0.
        class_acc.append((tpr + tnr) / 2)
    acc = prec = rec = 0.
    for i in range(num_samples):
        inter = union = num_pred = num_gt = 0
        for j in range(num_classes):
            inter += int(gt[i][j] and hit[i][j])
            union += int(gt[i][j] or hit[i][j])
            num_pred += int(hit[i][j])
            num_gt += int(gt[i][j])
        acc += inter / union if union > 0 else 0.
        prec += inter / num_pred if num_pred > 0 else 0.
        rec += inter / num_gt if num_gt > 0 else 0.
    p, r = prec / num_samples, rec / num_samples
    return {'mA': 100 * sum(class_acc) / num_classes,
            'instance_accuracy': 100 * acc / num_samples,
            'instance_precision': 100 * p,
            'instance_recall': 100 * r,
            'instance_f1': 100 * (2 * p * r / (p + r) if p + r > 0 else 0.)}


def _attr_case(seed, num_samples=50, num_classes=7, ignore=False):
    """Random probabilities (2 decimals: ties at the thresholds) and targets with edge cases.

    Class 2 has no positive; an even seed adds a sample with no label and no prediction (row
    0), an odd seed a class with no negative (class 4); the two cannot coexist.
    """
    rng = np.random.default_rng(seed)
    pred = np.round(rng.random((num_samples, num_classes)), 2)
    target = (rng.random((num_samples, num_classes)) < 0.35).astype(np.int64)
    target[:, 2] = 0
    if seed % 2:
        target[:, 4] = 1
    else:
        target[0] = 0
        pred[0] = 0.01
    if ignore:
        target[rng.random(target.shape) < 0.1] = -1
    return pred, target


@pytest.mark.parametrize('seed', [0, 1, 2, 3, 4])
@pytest.mark.parametrize('thr', [0.3, 0.5, 0.7])
@pytest.mark.parametrize('ignore', [False, True])
def test_attributes_random_against_loop(seed, thr, ignore):
    pred, target = _attr_case(seed, ignore=ignore)
    res = calc(pred, target, thr=thr, attributes=True)
    ref = _reference_attributes(pred, target, thr)
    for key in ATTRIBUTE_KEYS:
        assert isinstance(res[key], float)
        assert res[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key
    # the attribute option adds keys and leaves the others untouched
    plain = calc(pred, target, thr=thr)
    assert set(res) == set(plain) | set(ATTRIBUTE_KEYS)
    assert all(res[k] == plain[k] for k in plain)
    assert not set(ATTRIBUTE_KEYS) & set(plain)


def test_attributes_hand_4x3():
    pred = [[0.9, 0.2, 0.6],
            [0.4, 0.7, 0.1],
            [0.8, 0.1, 0.3],
            [0.1, 0.3, 0.2]]
    target = [[1, 0, 1],
              [1, 1, 0],
              [0, 0, 0],
              [0, 0, 0]]
    # y_hat = [[1, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 0]]
    res = calc(pred, target, attributes=True)
    # class 0: TP=1 FN=1 TN=1 FP=1 -> (1/2 + 1/2) / 2 ; classes 1 and 2: perfect
    assert res['mA'] == pytest.approx(100 * (1 / 2 + 1 + 1) / 3)
    # samples: perfect; y={0,1} y_hat={1}; no label but a prediction; no label, no prediction
    assert res['instance_accuracy'] == pytest.approx(100 * (1 + 1 / 2 + 0 + 0) / 4)
    assert res['instance_precision'] == pytest.approx(100 * (1 + 1 + 0 + 0) / 4)
    assert res['instance_recall'] == pytest.approx(100 * (1 + 1 / 2 + 0 + 0) / 4)
    assert res['instance_f1'] == pytest.approx(100 * 3 / 7)  # 2 (1/2)(3/8) / (1/2 + 3/8)
    # unlike instance_*, example_f1 leaves the empty sample out: (1 + 2/3 + 0) / 3
    assert res['example_f1'] == pytest.approx(100 * 5 / 9)


def test_attributes_no_positive_no_negative_class_and_ignored():
    pred = [[0.9, 0.9, 0.2],
            [0.1, 0.8, 0.7],
            [0.2, 0.6, 0.1]]
    target = [[1, 1, 0],
              [0, 1, -1],
              [0, 1, 0]]
    # y_hat = [[1, 1, 0], [0, 1, 1], [0, 1, 0]]; the -1 counts as a negative, so a FP
    res = calc(pred, target, attributes=True)
    # class 0: perfect -> 1; class 1 (no negative): (1 + 0) / 2; class 2 (no positive, the
    # -1 predicted positive): (0 + 2/3) / 2
    assert res['mA'] == pytest.approx(100 * (1 + 1 / 2 + 1 / 3) / 3)
    # sample 1: y={1}, y_hat={1, 2} -> accuracy 1/2, precision 1/2, recall 1
    assert res['instance_accuracy'] == pytest.approx(100 * 5 / 6)
    assert res['instance_precision'] == pytest.approx(100 * 5 / 6)
    assert res['instance_recall'] == pytest.approx(100.)
    assert res['instance_f1'] == pytest.approx(100 * 10 / 11)
    # -1 is exactly a 0 for these metrics
    zeroed = calc(pred, np.maximum(np.asarray(target), 0), attributes=True)
    for key in ATTRIBUTE_KEYS:
        assert res[key] == zeroed[key]


def test_attributes_degenerate():
    # one class, one sample with no label and no prediction: it counts as 0 in instance_*
    res = calc([[0.9], [0.1]], [[1], [0]], attributes=True)
    assert res['mA'] == pytest.approx(100.)
    for key in ATTRIBUTE_KEYS[1:]:
        assert res[key] == pytest.approx(50.)
    # nothing right: P = R = 0 gives F1 = 0; class 0 has no negative, class 1 no positive
    res = calc([[0.1, 0.9]], [[1, 0]], attributes=True)
    for key in ATTRIBUTE_KEYS:
        assert res[key] == 0.
    # the helper on fractions: no label and no prediction anywhere
    out = _attributes(np.zeros((2, 3), dtype=bool), np.zeros((2, 3), dtype=bool))
    assert out == {'mA': 0.5, 'instance_accuracy': 0., 'instance_precision': 0.,
                   'instance_recall': 0., 'instance_f1': 0.}


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
@pytest.mark.parametrize('thr', [0.3, 0.5, 0.7])
def test_attributes_against_sklearn(seed, thr):
    pred, target = _attr_case(seed, ignore=seed >= 2)
    res = calc(pred, target, thr=thr, attributes=True)
    gt, hit = target == 1, pred >= thr
    # sklearn's 'samples' averages with zero_division=0 give 0 to a sample whose denominator
    # is 0, exactly our rule, so they agree with or without empty samples.
    jac = jaccard_score(gt, hit, average='samples', zero_division=0)
    prec = precision_score(gt, hit, average='samples', zero_division=0)
    rec = recall_score(gt, hit, average='samples', zero_division=0)
    assert res['instance_accuracy'] == pytest.approx(100 * jac, rel=1e-9)
    assert res['instance_precision'] == pytest.approx(100 * prec, rel=1e-9)
    assert res['instance_recall'] == pytest.approx(100 * rec, rel=1e-9)
    # instance_f1 is the F1 of the means, not sklearn's f1_score(average='samples')
    assert res['instance_f1'] == pytest.approx(100 * 2 * prec * rec / (prec + rec), rel=1e-9)
    # with zero_division=1, sklearn's Jaccard agrees only if no sample has an empty union
    empty = ~(gt | hit).any(axis=1)
    jac1 = jaccard_score(gt, hit, average='samples', zero_division=1)
    assert jac1 == pytest.approx(jac + empty.mean(), rel=1e-9)
    assert (res['instance_accuracy'] == pytest.approx(100 * jac1)) == (not empty.any())
    # mA: per class, TPR and TNR as recalls of the positives and of the negatives
    # (zero_division=0: a rate with an empty denominator is 0) ...
    per_class = [(recall_score(gt[:, j], hit[:, j], zero_division=0)
                  + recall_score(~gt[:, j], ~hit[:, j], zero_division=0)) / 2
                 for j in range(gt.shape[1])]
    assert res['mA'] == pytest.approx(100 * np.mean(per_class), rel=1e-9)
    # ... which is sklearn's balanced accuracy on the columns holding both classes (on a
    # one-class column balanced_accuracy_score returns the one rate, not rate / 2)
    both = [j for j in range(gt.shape[1]) if 0 < gt[:, j].sum() < len(gt)]
    assert len(both) < gt.shape[1]  # the case does hold one-class columns
    for j in both:
        assert per_class[j] == pytest.approx(balanced_accuracy_score(gt[:, j], hit[:, j]))


def _attr_samples(pred, target):
    return [{'pred_score': torch.tensor(p, dtype=torch.float32),
             'gt_score': torch.tensor(y, dtype=torch.float32)} for p, y in zip(pred, target)]


def test_attributes_through_process_and_evaluate():
    pred, target = _attr_case(1, ignore=True)
    pred = pred.astype(np.float32)  # what the model outputs
    metric = MultiLabelPaperMetric(thr=0.3, attributes=True)
    samples = _attr_samples(pred, target)
    for start in range(0, len(samples), 16):  # several batches
        metric.process(None, samples[start:start + 16])
    metrics = metric.evaluate(len(samples))
    ref = _reference_attributes(pred, target, 0.3)
    for key in ATTRIBUTE_KEYS:
        assert metrics[f'multi-label/{key}'] == pytest.approx(ref[key], rel=1e-9)
    expected = calc(pred, target, thr=0.3, attributes=True)
    assert set(metrics) == {f'multi-label/{k}' for k in expected}

    plain = MultiLabelPaperMetric(thr=0.3)
    plain.process(None, samples)
    metrics = plain.evaluate(len(samples))
    assert 'multi-label/micro_f1' in metrics
    for key in ATTRIBUTE_KEYS:
        assert f'multi-label/{key}' not in metrics

    built = METRICS.build({'type': 'MultiLabelPaperMetric', 'attributes': True})
    assert built.attributes
    assert not MultiLabelPaperMetric().attributes


def test_thresholded_keys():
    assert THRESHOLDED_KEYS == ('hamming_accuracy', 'example_f1', 'macro_f1', 'micro_f1', 'mA',
                                'instance_accuracy', 'instance_precision', 'instance_recall',
                                'instance_f1')
    # every one is a key of calculate(attributes=True)
    assert set(THRESHOLDED_KEYS) <= set(calc([[0.6, 0.2]], [[1, 0]], attributes=True))


def _val_test_case(seed, num_val=60, num_test=50, num_classes=6):
    """Informative but noisy scores, rounded to 2 decimals, for a validation and a test split."""
    rng = np.random.default_rng(seed)

    def split(num):
        target = (rng.random((num, num_classes)) < 0.3).astype(np.int64)
        pred = np.round(0.4 * target + 0.6 * rng.random((num, num_classes)), 2)
        return pred, target

    return (*split(num_val), *split(num_test))


def _choose(pred, target, key, thresholds):
    """The first (lowest, for ascending candidates) threshold maximising key, via calculate."""
    best_value, best_thr = None, None
    for thr in thresholds:
        value = calc(pred, target, thr=thr, attributes=True)[key]
        if best_value is None or value > best_value:
            best_value, best_thr = value, thr
    return best_thr


def _valthr_keys():
    return {f'valthr_{k}' for k in THRESHOLDED_KEYS} | \
        {f'valthr_{k}_thr' for k in THRESHOLDED_KEYS}


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_val_chosen_against_loop(seed):
    val_pred, val_target, test_pred, test_target = _val_test_case(seed)
    res = val_chosen_metrics(val_pred, val_target, test_pred, test_target)
    assert set(res) == _valthr_keys()
    chosen = set()
    for key in THRESHOLDED_KEYS:
        thr = _choose(val_pred, val_target, key, THRESHOLDS)
        chosen.add(thr)
        assert res[f'valthr_{key}_thr'] == thr, key  # a plain decimal such as 0.3
        expected = calc(test_pred, test_target, thr=thr, attributes=True)[key]
        assert isinstance(res[f'valthr_{key}'], float)
        assert res[f'valthr_{key}'] == pytest.approx(expected, rel=1e-9, abs=1e-12), key
        if key in ATTRIBUTE_KEYS:
            ref = _reference_attributes(test_pred, test_target, thr)[key]
            assert res[f'valthr_{key}'] == pytest.approx(ref, rel=1e-9, abs=1e-12), key
    assert len(chosen) > 1  # the metrics do not all prefer one threshold: the case has power


def test_val_chosen_ignores_test_split():
    val_pred, val_target, test_pred, test_target = _val_test_case(3)
    res = val_chosen_metrics(val_pred, val_target, test_pred, test_target)
    thrs = {k: res[f'valthr_{k}_thr'] for k in THRESHOLDED_KEYS}
    # permuted test samples: same thresholds and (sample-order invariant metrics) values
    perm = np.random.default_rng(0).permutation(len(test_pred))
    permuted = val_chosen_metrics(val_pred, val_target, test_pred[perm], test_target[perm])
    for key in THRESHOLDED_KEYS:
        assert permuted[f'valthr_{key}_thr'] == thrs[key]
        assert permuted[f'valthr_{key}'] == pytest.approx(res[f'valthr_{key}'], rel=1e-9)
    # entirely different test data (other size, inverted scores): same thresholds
    other_pred, other_target = _val_test_case(4, num_test=13)[2:]
    for new_pred, new_target in ((other_pred, other_target), (1 - test_pred, test_target)):
        changed = val_chosen_metrics(val_pred, val_target, new_pred, new_target)
        assert {k: changed[f'valthr_{k}_thr'] for k in THRESHOLDED_KEYS} == thrs
        assert changed != res
    # the thresholds are those chosen when the validation split is evaluated on itself
    itself = val_chosen_metrics(val_pred, val_target, val_pred, val_target)
    assert {k: itself[f'valthr_{k}_thr'] for k in THRESHOLDED_KEYS} == thrs


# Validation scores: positives 0.25, negatives 0.05 (best at 0.1 and 0.2, the lowest wins);
# test scores: positives 0.85, negatives 0.75 (only 0.8 separates them).
SHIFT_TARGET = np.array([[1, 0, 0],
                         [0, 1, 0],
                         [0, 0, 1],
                         [1, 1, 0]])


def test_val_chosen_differs_from_oracle():
    val_pred = np.where(SHIFT_TARGET == 1, 0.25, 0.05)
    test_pred = np.where(SHIFT_TARGET == 1, 0.85, 0.75)
    res = val_chosen_metrics(val_pred, SHIFT_TARGET, test_pred, SHIFT_TARGET)
    oracle = calc(test_pred, SHIFT_TARGET, oracle=True)
    for key in THRESHOLDED_KEYS:
        assert res[f'valthr_{key}_thr'] == 0.1
    for key in ('hamming_accuracy', 'example_f1', 'micro_f1', 'macro_f1'):
        assert oracle[f'oracle_{key}_thr'] == 0.8
        assert res[f'valthr_{key}'] < oracle[f'oracle_{key}']
    # at 0.1 everything is predicted on test: 5 positives among 12 entries
    assert res['valthr_hamming_accuracy'] == pytest.approx(100 * 5 / 12)
    assert res['valthr_example_f1'] == pytest.approx(100 * (1 / 2 * 3 + 4 / 5) / 4)
    assert res['valthr_macro_f1'] == pytest.approx(100 * (2 / 3 + 2 / 3 + 2 / 5) / 3)
    assert res['valthr_micro_f1'] == pytest.approx(100 * 10 / 17)
    assert res['valthr_mA'] == pytest.approx(50.)  # TPR 1 and TNR 0 in every class
    assert res['valthr_instance_accuracy'] == pytest.approx(100 * 5 / 12)
    assert res['valthr_instance_precision'] == pytest.approx(100 * 5 / 12)
    assert res['valthr_instance_recall'] == pytest.approx(100.)
    assert res['valthr_instance_f1'] == pytest.approx(100 * 10 / 17)
    assert oracle['oracle_micro_f1'] == pytest.approx(100.)


@pytest.mark.parametrize('seed', [5, 6, 7])
def test_val_chosen_at_most_oracle(seed):
    val_pred, val_target, test_pred, test_target = _val_test_case(seed)
    res = val_chosen_metrics(val_pred, val_target, test_pred, test_target)
    oracle = calc(test_pred, test_target, oracle=True)
    sweep = [calc(test_pred, test_target, thr=t, attributes=True) for t in THRESHOLDS]
    for key in THRESHOLDED_KEYS:
        best = max(s[key] for s in sweep)  # the oracle without epsilon, for all nine keys
        assert res[f'valthr_{key}'] <= best + 1e-9
    for key in ('hamming_accuracy', 'example_f1', 'micro_f1'):
        assert res[f'valthr_{key}'] <= oracle[f'oracle_{key}'] + 1e-9
    # the oracle macro F1 divides by 2TP + FP + FN + 1e-6, which lowers it by at most
    # 1e-6 / 2 per class (den >= 2 where TP > 0), i.e. 5e-5 in percent
    assert res['valthr_macro_f1'] <= oracle['oracle_macro_f1'] + 5e-5
    # validating on the test split itself reproduces the oracle
    same = val_chosen_metrics(test_pred, test_target, test_pred, test_target)
    for key in THRESHOLDED_KEYS:
        assert same[f'valthr_{key}'] == pytest.approx(max(s[key] for s in sweep), rel=1e-12)
    for key in ('hamming_accuracy', 'example_f1', 'micro_f1'):
        assert same[f'valthr_{key}_thr'] == oracle[f'oracle_{key}_thr']
        assert same[f'valthr_{key}'] == pytest.approx(oracle[f'oracle_{key}'], rel=1e-12)
    assert same['valthr_macro_f1'] == pytest.approx(oracle['oracle_macro_f1'], abs=5e-5)


@pytest.mark.parametrize('seed', [0, 8])
def test_val_chosen_custom_thresholds_random(seed):
    val_pred, val_target, test_pred, test_target = _val_test_case(seed)
    res = val_chosen_metrics(val_pred, val_target, test_pred, test_target,
                             thresholds=(0.25, 0.75))
    assert set(res) == _valthr_keys()
    for key in THRESHOLDED_KEYS:
        thr = _choose(val_pred, val_target, key, (0.25, 0.75))
        assert res[f'valthr_{key}_thr'] == thr
        expected = calc(test_pred, test_target, thr=thr, attributes=True)[key]
        assert res[f'valthr_{key}'] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_val_chosen_custom_thresholds_hand():
    # validation: positives 0.85, negatives 0.5 -> 0.75 is perfect, 0.25 predicts everything;
    # instance_recall is 1 at both, a tie won by 0.25
    val_pred = np.where(SHIFT_TARGET == 1, 0.85, 0.5)
    test_pred = np.where(SHIFT_TARGET == 1, 0.85, 0.75)  # 0.75 predicts everything on test
    res = val_chosen_metrics(val_pred, SHIFT_TARGET, test_pred, SHIFT_TARGET,
                             thresholds=(0.25, 0.75))
    for key in THRESHOLDED_KEYS:
        assert res[f'valthr_{key}_thr'] == (0.25 if key == 'instance_recall' else 0.75), key
    assert res['valthr_micro_f1'] == pytest.approx(100 * 10 / 17)
    assert res['valthr_mA'] == pytest.approx(50.)
    assert res['valthr_instance_recall'] == pytest.approx(100.)


def test_val_chosen_tie_lowest_for_unsorted_thresholds():
    val_pred = np.where(SHIFT_TARGET == 1, 0.85, 0.5)
    res = val_chosen_metrics(val_pred, SHIFT_TARGET, val_pred, SHIFT_TARGET,
                             thresholds=(0.75, 0.25))
    assert res['valthr_instance_recall_thr'] == 0.25  # tie at 1.0: the lowest one


def test_val_chosen_errors():
    pred, target = np.full((4, 3), 0.6), SHIFT_TARGET
    with pytest.raises(ValueError, match='different class counts: 3 vs 4'):
        val_chosen_metrics(pred, target, np.full((4, 4), 0.6), np.ones((4, 4)))
    for thresholds in ((0.5, 1.0), (0., 0.5), (0.5, 1.5), (-0.1,)):
        with pytest.raises(ValueError, match='thr must be a number in \\(0, 1\\)'):
            val_chosen_metrics(pred, target, pred, target, thresholds=thresholds)
    with pytest.raises(ValueError, match='look like logits'):
        val_chosen_metrics(pred, target, pred + 1, target)
