# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Tests of :class:`ClassMeanBCELoss`: through mmpretrain's ``MultiLabelLinearClsHead.loss`` it
equals ``F.binary_cross_entropy_with_logits(..., reduction='mean')``, the papers' BCE."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models.losses import CrossEntropyLoss
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mlcl_plugin  # noqa: F401  (registers the plugin)
from mlcl_plugin.models.losses import ClassMeanBCELoss

B, C, E = 5, 7, 6


def _head(loss):
    return MODELS.build(dict(type='MultiLabelLinearClsHead', num_classes=C, in_channels=E,
                             loss=loss))


def _samples(labels=None, scores=None):
    if scores is not None:
        return [DataSample().set_gt_score(s) for s in scores]
    return [DataSample().set_gt_label(lab) for lab in labels]


def _batch(seed=0):
    torch.manual_seed(seed)
    feats = torch.randn(B, E)
    labels = [[0, 2], [5], [1, 3, 6], [], [4]]
    target = torch.zeros(B, C)
    for row, lab in enumerate(labels):
        target[row, lab] = 1
    return feats, labels, target


def test_registered_and_exported():
    loss = MODELS.build(dict(type='ClassMeanBCELoss'))
    assert isinstance(loss, ClassMeanBCELoss)
    assert isinstance(loss, CrossEntropyLoss)
    assert loss.use_sigmoid
    assert not loss.use_soft


@pytest.mark.parametrize('with_weight', [False, True])
def test_head_loss_is_mean_bce(with_weight):
    feats, labels, target = _batch()
    head = _head(dict(type='ClassMeanBCELoss'))
    kwargs, weight = {}, None
    if with_weight:
        weight = torch.tensor([0.5, 2.0, 1.0, 0.0, 3.0])
        kwargs['weight'] = weight
    loss = head.loss((feats, ), _samples(labels), **kwargs)['loss']
    logits = head((feats, ))
    expected = F.binary_cross_entropy_with_logits(
        logits, target, weight=None if weight is None else weight[:, None], reduction='mean')
    torch.testing.assert_close(loss, expected)
    # the plain mmpretrain loss sums over the classes: C times larger
    plain = _head(dict(type='CrossEntropyLoss', use_sigmoid=True))
    plain.load_state_dict(head.state_dict())
    torch.testing.assert_close(plain.loss((feats, ), _samples(labels), **kwargs)['loss'],
                               C * expected)
    loss.backward()
    assert head.fc.weight.grad is not None


def test_head_loss_soft_targets():
    feats, _, _ = _batch(1)
    soft = torch.rand(B, C)
    head = _head(dict(type='ClassMeanBCELoss'))
    loss = head.loss((feats, ), _samples(scores=soft))['loss']
    torch.testing.assert_close(
        loss, F.binary_cross_entropy_with_logits(head((feats, )), soft, reduction='mean'))


def test_loss_weight_pos_weight_class_weight():
    torch.manual_seed(2)
    score, target = torch.randn(B, C), (torch.rand(B, C) > 0.5).float()
    pos_weight = [float(i + 1) for i in range(C)]
    class_weight = [0.5 + 0.1 * i for i in range(C)]
    loss = ClassMeanBCELoss(loss_weight=3.0, pos_weight=pos_weight, class_weight=class_weight)
    expected = 3.0 * F.binary_cross_entropy_with_logits(
        score, target, weight=torch.tensor(class_weight).expand(B, C),
        pos_weight=torch.tensor(pos_weight), reduction='mean')
    torch.testing.assert_close(loss(score, target, avg_factor=B), expected)


def test_reductions():
    torch.manual_seed(3)
    score, target = torch.randn(B, C), (torch.rand(B, C) > 0.5).float()
    loss = ClassMeanBCELoss()
    elementwise = F.binary_cross_entropy_with_logits(score, target, reduction='none')
    mean = elementwise.mean()
    # avg_factor (the heads' call) and plain 'mean' both give the mean over B x C
    torch.testing.assert_close(loss(score, target, avg_factor=B), mean)
    torch.testing.assert_close(loss(score, target), mean)
    # 'sum': the per-sample class means summed over the samples
    torch.testing.assert_close(loss(score, target, reduction_override='sum'), B * mean)
    torch.testing.assert_close(ClassMeanBCELoss(reduction='sum')(score, target), B * mean)
    # 'none': element-wise, divided by C
    none = loss(score, target, reduction_override='none')
    assert none.shape == (B, C)
    torch.testing.assert_close(none, elementwise / C)
    torch.testing.assert_close(none.sum(-1), elementwise.mean(-1))


def test_class_count_read_from_scores():
    for num_classes in (1, 6, 14, 80):
        zeros = torch.zeros(3, num_classes)
        value = ClassMeanBCELoss()(zeros, zeros, avg_factor=3)
        assert math.isclose(value.item(), math.log(2), rel_tol=1e-6)


def test_invalid_arguments():
    with pytest.raises(ValueError, match='use_sigmoid'):
        ClassMeanBCELoss(use_sigmoid=False)
    with pytest.raises(TypeError):
        ClassMeanBCELoss(use_soft=True)
    with pytest.raises(ValueError, match='classes last'):
        ClassMeanBCELoss()(torch.zeros(4), torch.zeros(4))
    # a config merged over a CrossEntropyLoss(use_sigmoid=True) base keeps building
    assert MODELS.build(dict(type='ClassMeanBCELoss', use_sigmoid=True)).use_sigmoid
