# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The multi-label metrics reported by the multi-label contrastive learning papers."""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence]

# The oracle sweep of MulSupCon / C-GMVAE: 0.1, 0.2, ..., 0.9. Built as k / 10 so that the
# reported thresholds are the exact decimals (0.1 * 3 would give 0.30000000000000004).
ORACLE_THRESHOLDS = np.arange(1, 10) / 10


def _to_numpy(value: ArrayLike, name: str) -> np.ndarray:
    """Convert a tensor, array or nested list to a float64 numpy array."""
    if isinstance(value, torch.Tensor):
        # float64 keeps tied float32 scores tied and makes the sums exact enough for 1e-6.
        return value.detach().cpu().to(torch.float64).numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f'{name} must be an N x C array of numbers (a torch.Tensor, a '
                         f'numpy array or a nested list of equal-length rows): {err}') from err


def _check_inputs(pred: ArrayLike, target: ArrayLike):
    """Validate and convert ``pred`` (N x C) and ``target`` (N x C).

    Returns:
        tuple: ``pred`` as a float64 array (N x C), ``target`` as a float64 array (N x C)
        holding only 0, 1 and -1.
    """
    pred = _to_numpy(pred, 'pred')
    target = _to_numpy(target, 'target')
    if pred.ndim != 2 or target.ndim != 2:
        raise ValueError('pred and target must be 2D (N x C), got pred of shape '
                         f'{tuple(pred.shape)} and target of shape {tuple(target.shape)}')
    if pred.shape != target.shape:
        raise ValueError('pred and target must have the same shape (N x C), got pred of '
                         f'shape {tuple(pred.shape)} and target of shape {tuple(target.shape)}')
    if pred.shape[0] == 0 or pred.shape[1] == 0:
        raise ValueError('cannot evaluate an empty input: got pred and target of shape '
                         f'{tuple(pred.shape)} (need at least one sample and one class)')
    if np.isnan(pred).any():
        raise ValueError('pred contains NaN scores')
    if pred.min() < 0 or pred.max() > 1:
        raise ValueError(f'pred values must lie in [0, 1], got range [{pred.min():g}, '
                         f'{pred.max():g}]; these look like logits: pred_score must be '
                         'probabilities (e.g. sigmoid of the logits)')
    bad = ~np.isin(target, (0, 1, -1))
    if bad.any():
        raise ValueError('target values must be 1 (positive), 0 (negative) or -1 (ignored), '
                         f'got the bad value {float(target[bad][0]):g}')
    return pred, target


def _average_precision(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-class average precision, the definition of scikit-learn, for all classes at once.

    ``sklearn.metrics.average_precision_score`` is the step integral
    ``AP = sum_k (R_k - R_{k-1}) * P_k`` over the distinct scores of a class, from the highest
    down, where ``P_k`` and ``R_k`` count every sample scored at least that high (so a tie
    group enters as a whole). Equivalently every positive contributes ``1 / #positives``
    times the precision at the END of its tie group, which needs no loop over classes.

    Args:
        pred (np.ndarray): Scores, N x C.
        target (np.ndarray): 1 positive, 0 negative, -1 ignored (left out), N x C.

    Returns:
        np.ndarray: AP of each class (C,), NaN for a class without positives.
    """
    num_samples = pred.shape[0]
    # Sort each column by descending score (the order inside a tie group is irrelevant since
    # only the values at the group end are used).
    order = np.argsort(-pred, axis=0, kind='stable')  # N x C
    scores = np.take_along_axis(pred, order, axis=0)  # N x C
    labels = np.take_along_axis(target, order, axis=0)  # N x C
    tps = np.cumsum(labels == 1, axis=0)  # N x C, ignored entries count neither way
    fps = np.cumsum(labels == 0, axis=0)  # N x C

    # Row index of the last element of each element's tie group: mark group ends, then take
    # the nearest mark at or below each row (a reversed running minimum).
    rows = np.arange(num_samples)[:, None]
    is_end = np.ones_like(scores, dtype=bool)  # N x C
    is_end[:-1] = scores[:-1] != scores[1:]
    end_row = np.where(is_end, rows, num_samples)
    end_row = np.minimum.accumulate(end_row[::-1], axis=0)[::-1]  # N x C

    tps_end = np.take_along_axis(tps, end_row, axis=0)  # N x C
    fps_end = np.take_along_axis(fps, end_row, axis=0)  # N x C
    predicted = tps_end + fps_end
    # A group holding only ignored entries can have 0 counted samples; it holds no positive,
    # so its precision never enters the sum.
    precision = np.divide(tps_end, predicted, out=np.zeros(scores.shape), where=predicted > 0)

    num_pos = tps[-1]  # C
    total = np.where(labels == 1, precision, 0.).sum(axis=0)  # C
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(num_pos > 0, total / num_pos, np.nan)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` elementwise with 0 where ``den`` is 0."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=np.float64),
                                   np.asarray(den, dtype=np.float64))
    return np.divide(num, den, out=np.zeros(num.shape), where=den != 0)


def _thresholded(gt: np.ndarray, hit: np.ndarray, macro_eps: float = 0.) -> Dict[str, np.ndarray]:
    """Hamming accuracy, example/macro/micro F1 from binary matrices (fractions, not %).

    Works on any leading batch dimensions, so the oracle sweep passes T x N x C at once.

    Args:
        gt (np.ndarray): Ground truth (bool), ... x N x C.
        hit (np.ndarray): Predictions (bool), ... x N x C.
        macro_eps (float): Added to the macro-F1 denominators (the oracle reference adds
            1e-6). Defaults to 0.

    Returns:
        dict: ``hamming_accuracy``, ``example_f1``, ``macro_f1``, ``micro_f1``, each of the
        leading batch shape.
    """
    tp = gt & hit
    hamming = 1. - (gt != hit).mean(axis=(-2, -1))

    # Example F1: samples with no label and no prediction are left out of the mean.
    inter = tp.sum(axis=-1)  # ... x N
    size = gt.sum(axis=-1) + hit.sum(axis=-1)  # ... x N
    kept = size > 0
    example = _safe_div((_safe_div(2 * inter, size) * kept).sum(axis=-1), kept.sum(axis=-1))

    class_tp = tp.sum(axis=-2)  # ... x C
    class_fp = (~gt & hit).sum(axis=-2)
    class_fn = (gt & ~hit).sum(axis=-2)
    class_den = 2 * class_tp + class_fp + class_fn
    if macro_eps:
        macro = (2 * class_tp / (class_den + macro_eps)).mean(axis=-1)
    else:
        macro = _safe_div(2 * class_tp, class_den).mean(axis=-1)

    sum_tp = class_tp.sum(axis=-1)
    micro = _safe_div(2 * sum_tp, 2 * sum_tp + class_fp.sum(axis=-1) + class_fn.sum(axis=-1))
    return {'hamming_accuracy': hamming, 'example_f1': example, 'macro_f1': macro,
            'micro_f1': micro}


def _attributes(gt: np.ndarray, hit: np.ndarray) -> Dict[str, float]:
    """Pedestrian-attribute metrics (PETA protocol) from binary N x C matrices (fractions).

    ``mA``: mean over classes of ``(TPR + TNR) / 2``, where a class without positives (or
    without negatives) contributes its defined rate only, so ``(TNR + 0) / 2`` counts as
    ``TNR / 2`` there; ``instance_*``: per-sample ``|y & y_hat| / |y | y_hat|`` (accuracy),
    ``/ |y_hat|`` (precision), ``/ |y|`` (recall), each 0 where its denominator is 0, then
    averaged over the samples; ``instance_f1 = 2 P R / (P + R)`` of those two means.
    """
    pos = gt.sum(axis=0)  # C
    neg = gt.shape[0] - pos  # C
    tpr = _safe_div((gt & hit).sum(axis=0), pos)
    tnr = _safe_div((~gt & ~hit).sum(axis=0), neg)
    inter = (gt & hit).sum(axis=1)  # N
    union = (gt | hit).sum(axis=1)
    precision = float(_safe_div(inter, hit.sum(axis=1)).mean())
    recall = float(_safe_div(inter, gt.sum(axis=1)).mean())
    return {'mA': float(((tpr + tnr) / 2).mean()),
            'instance_accuracy': float(_safe_div(inter, union).mean()),
            'instance_precision': precision,
            'instance_recall': recall,
            'instance_f1': float(_safe_div(2 * precision * recall, precision + recall))}


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
        gt, hit = target == 1, pred >= thr
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


def _mlgcn(gt: np.ndarray, hit: np.ndarray) -> Dict[str, float]:
    """CP, CR, CF1, OP, OR, OF1 of ML-GCN from binary N x C matrices (fractions)."""
    num_gt = gt.sum(axis=0).astype(np.float64)  # C
    num_pred = hit.sum(axis=0).astype(np.float64)  # C
    num_correct = (gt & hit).sum(axis=0).astype(np.float64)  # C
    # As ML-GCN's reference code: Np = 0 becomes 1, also inside the overall sum of OP.
    num_pred[num_pred == 0] = 1
    cp = float((num_correct / num_pred).mean())
    has_gt = num_gt > 0
    cr = float((num_correct[has_gt] / num_gt[has_gt]).mean()) if has_gt.any() else 0.
    op = float(num_correct.sum() / num_pred.sum())
    orc = float(_safe_div(num_correct.sum(), num_gt.sum()))
    return {'CP': cp, 'CR': cr, 'CF1': float(_safe_div(2 * cp * cr, cp + cr)),
            'OP': op, 'OR': orc, 'OF1': float(_safe_div(2 * op * orc, op + orc))}


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
                  attributes: bool = False) -> Dict[str, float]:
        """Compute the metrics of the class docstring, usable without a runner.

        Args:
            pred (torch.Tensor | np.ndarray | Sequence): Probabilities in [0, 1], N x C.
            target (torch.Tensor | np.ndarray | Sequence): 1 positive, 0 negative, -1
                ignored, N x C.
            thr (float): Threshold of the thresholded metrics, in (0, 1). Defaults to 0.5.
            oracle (bool): Add the oracle threshold sweep. Defaults to False.
            mlgcn (bool): Add the ML-GCN family (and its top-3 variant). Defaults to False.
            bce (bool): Add the mean binary cross-entropy ``bce``. Defaults to False.
            attributes (bool): Add ``mA`` and the instance-based metrics. Defaults to False.

        Returns:
            Dict[str, float]: ``mAP``, ``hamming_accuracy``, ``example_f1``, ``macro_f1``,
            ``micro_f1``, ``precision@1`` in percent, plus the ML-GCN and oracle keys when
            asked for (oracle thresholds as plain numbers, ``bce`` as a plain number).
        """
        _check_thr(thr)
        pred, target = _check_inputs(pred, target)  # N x C each

        ap = _average_precision(pred, target)  # C, NaN for classes without positives
        if np.isnan(ap).all():
            raise ValueError('mAP is undefined: no class has a positive target')
        results = {'mAP': float(np.nanmean(ap)) * 100}

        gt = target == 1  # N x C; the ignored -1 entries count as negatives from here on
        hit = pred >= thr  # N x C
        results.update({k: float(v) * 100 for k, v in _thresholded(gt, hit).items()})
        # np.argmax returns the first maximum, i.e. the lowest class index on a tie.
        top1 = pred.argmax(axis=1)  # N
        results['precision@1'] = float(gt[np.arange(len(gt)), top1].mean()) * 100

        if attributes:
            results.update({k: v * 100 for k, v in _attributes(gt, hit).items()})

        if mlgcn:
            results.update({k: v * 100 for k, v in _mlgcn(gt, hit).items()})
            k = min(3, pred.shape[1])
            # Stable sort of the negated scores: descending, ties by the lowest class index.
            top = np.argsort(-pred, axis=1, kind='stable')[:, :k]  # N x k
            in_top = np.zeros_like(hit)
            np.put_along_axis(in_top, top, True, axis=1)
            results.update({f'{k_}_top3': v * 100
                            for k_, v in _mlgcn(gt, hit & in_top).items()})

        if oracle:
            hits = pred[None] >= ORACLE_THRESHOLDS[:, None, None]  # T x N x C
            sweep = _thresholded(gt[None], hits, macro_eps=1e-6)  # each of shape T
            for name in ('hamming_accuracy', 'example_f1', 'micro_f1', 'macro_f1'):
                best = int(np.argmax(sweep[name]))  # the lowest threshold on a tie
                results[f'oracle_{name}'] = float(sweep[name][best]) * 100
                results[f'oracle_{name}_thr'] = float(ORACLE_THRESHOLDS[best])

        if bce:
            prob = np.clip(pred, 1e-7, 1 - 1e-7)
            entry = -np.where(gt, np.log(prob), np.log1p(-prob))  # N x C
            results['bce'] = float(entry[target != -1].mean())
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
