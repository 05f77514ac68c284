# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Tests of the batched per-label classifier and a tiny MulCon-style ImageClassifier."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mlcl_plugin  # noqa: F401  (registers the modules)
from mlcl_plugin.models.heads import LabelWiseLinearClsHead

L, E = 6, 8


def build_head(**kwargs):
    return MODELS.build(dict(type='LabelWiseLinearClsHead', num_classes=L, in_channels=E,
                             **kwargs))


def test_batched_equals_separate_linears():
    torch.manual_seed(0)
    head = build_head()
    assert isinstance(head, LabelWiseLinearClsHead)
    with torch.no_grad():
        head.weight.normal_()
        head.bias.normal_()
    linears = []
    for idx in range(L):
        fc = nn.Linear(E, 1)
        with torch.no_grad():
            fc.weight.copy_(head.weight[idx:idx + 1])
            fc.bias.copy_(head.bias[idx:idx + 1])
        linears.append(fc)
    emb = torch.randn(4, L, E)
    logits = head((torch.randn(4, 3), emb))
    ref = torch.cat([linears[idx](emb[:, idx]) for idx in range(L)], dim=1)
    assert logits.shape == (4, L)
    torch.testing.assert_close(logits, ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(head.pre_logits((emb, )), emb)


def test_init():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='LabelWiseLinearClsHead', num_classes=100, in_channels=64))
    head.init_weights()
    assert head.weight.shape == (100, 64)
    assert head.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert head.bias.abs().max() == 0


def _samples(labels):
    return [DataSample().set_gt_label(lab) for lab in labels]


def test_loss_matches_bce():
    torch.manual_seed(0)
    head = build_head()
    emb = torch.randn(3, L, E)
    labels = [[0, 2], [5], [1, 3, 4]]
    losses = head.loss((emb, ), _samples(labels))
    target = torch.zeros(3, L)
    for row, lab in enumerate(labels):
        target[row, lab] = 1
    logits = head((emb, ))
    # MultiLabelClsHead: CrossEntropyLoss(use_sigmoid=True) with avg_factor = batch size,
    # i.e. BCE summed over classes and samples, divided by B.
    expected = F.binary_cross_entropy_with_logits(logits, target, reduction='sum') / 3
    torch.testing.assert_close(losses['loss'], expected)
    # the reference's mean BCE (divide by B * L) via loss_weight = 1 / L
    head_mean = build_head(loss=dict(type='CrossEntropyLoss', use_sigmoid=True,
                                     loss_weight=1.0 / L))
    head_mean.load_state_dict(head.state_dict())
    torch.testing.assert_close(
        head_mean.loss((emb, ), _samples(labels))['loss'],
        F.binary_cross_entropy_with_logits(logits, target))
    losses['loss'].backward()
    assert head.weight.grad is not None


def test_predict_sigmoid_scores():
    torch.manual_seed(0)
    head = build_head(thr=0.5)
    emb = torch.randn(2, L, E) * 10
    preds = head.predict((emb, ))
    logits = head((emb, ))
    assert len(preds) == 2
    for row, sample in enumerate(preds):
        torch.testing.assert_close(sample.pred_score, torch.sigmoid(logits[row]))
        torch.testing.assert_close(sample.pred_label,
                                   torch.where(torch.sigmoid(logits[row]) >= 0.5)[0])
    samples = _samples([[1], [2, 3]])
    out = build_head(topk=2).predict((emb, ), samples)
    assert out[1] is samples[1]
    assert out[1].pred_label.numel() == 2


@pytest.mark.parametrize('shape', [(2, L + 1, E), (2, L, E + 1), (2, L * E)])
def test_shape_mismatch_raises(shape):
    head = build_head()
    with pytest.raises(ValueError, match='num_classes'):
        head((torch.randn(*shape), ))


def test_tiny_image_classifier_loss_and_predict():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                      out_indices=(3, )),
        neck=dict(type='LabelWiseAttentionNeck', in_channels=64, num_classes=L, embed_dims=16,
                  num_heads=2, num_token_layers=1),
        head=dict(type='LabelWiseLinearClsHead', num_classes=L, in_channels=16),
    ))
    model.init_weights()
    x = torch.randn(2, 3, 64, 64)
    samples = _samples([[0, 3], [5]])
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss'}
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()
    assert model.neck.label_queries.grad is not None
    model.eval()
    with torch.no_grad():
        preds = model(x, _samples([[0, 3], [5]]), mode='predict')
    assert len(preds) == 2
    assert preds[0].pred_score.shape == (L, )
    assert ((preds[0].pred_score > 0) & (preds[0].pred_score < 1)).all()
    assert model.neck.last_attention.shape == (2, 2, L, 4)
