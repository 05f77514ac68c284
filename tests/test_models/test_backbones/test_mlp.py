# Copyright (c) mlcl_plugin authors. All rights reserved.
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.dataset import Compose, default_collate, pseudo_collate
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mlcl_plugin  # noqa: F401  (registers the modules)
from mlcl_plugin.models.backbones import MulSupConMLP

NUM_FEATURES = 103  # yeast
NUM_CLASSES = 14


def _samples(batch, seed=0):
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(batch):
        labels = sorted(rng.choice(NUM_CLASSES, size=int(rng.integers(1, 4)), replace=False))
        samples.append(DataSample().set_gt_label([int(c) for c in labels]))
    return samples


def test_layers():
    model = MODELS.build(dict(type='MulSupConMLP', in_channels=NUM_FEATURES))
    assert isinstance(model, MulSupConMLP)
    assert model.out_channels == 256
    linears = [m for m in model.layers if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(103, 256), (256, 512),
                                                                  (512, 256)]
    # Linear -> ReLU -> Dropout(0.2), three times
    kinds = [type(m) for m in model.layers]
    assert kinds == [nn.Linear, nn.ReLU, nn.Dropout] * 3
    assert all(m.p == 0.2 for m in model.layers if isinstance(m, nn.Dropout))

    custom = MulSupConMLP(10, hidden_channels=(32, 8), dropout=0.0)
    assert [m.out_features for m in custom.layers if isinstance(m, nn.Linear)] == [32, 8]
    assert custom.out_channels == 8


def test_forward_shape_and_tuple():
    model = MulSupConMLP(NUM_FEATURES).eval()
    out = model(torch.randn(5, NUM_FEATURES))
    assert isinstance(out, tuple)
    assert len(out) == 1
    assert out[0].shape == (5, 256)
    assert (out[0] >= 0).all()  # ends with ReLU (and dropout)


def test_dropout_train_vs_eval():
    torch.manual_seed(0)
    model = MulSupConMLP(NUM_FEATURES)
    x = torch.randn(8, NUM_FEATURES)
    model.train()
    a, b = model(x)[0], model(x)[0]
    assert not torch.equal(a, b)
    model.eval()
    c, d = model(x)[0], model(x)[0]
    assert torch.equal(c, d)


def test_frozen():
    model = MulSupConMLP(NUM_FEATURES, frozen=True)
    assert all(not p.requires_grad for p in model.parameters())
    model.train()
    assert not model.training
    assert all(not m.training for m in model.modules())
    x = torch.randn(4, NUM_FEATURES)
    assert torch.equal(model(x)[0], model(x)[0])  # dropout stays off
    model.eval()
    assert not model.training

    free = MulSupConMLP(NUM_FEATURES)
    assert all(p.requires_grad for p in free.parameters())
    free.train()
    assert free.training


def test_invalid_args_and_input():
    with pytest.raises(ValueError, match='in_channels'):
        MulSupConMLP(0)
    with pytest.raises(ValueError, match='hidden_channels'):
        MulSupConMLP(4, hidden_channels=())
    with pytest.raises(ValueError, match='dropout'):
        MulSupConMLP(4, dropout=1.0)
    model = MulSupConMLP(NUM_FEATURES)
    with pytest.raises(ValueError, match=r'B x 103.*\(2, 3, 103\)'):
        model(torch.randn(2, 3, NUM_FEATURES))
    with pytest.raises(ValueError, match=r'\(2, 10\)'):
        model(torch.randn(2, 10))


@pytest.mark.parametrize('frozen', [False, True])
def test_image_classifier_no_neck(frozen):
    torch.manual_seed(0)
    clf = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='MulSupConMLP', in_channels=NUM_FEATURES, frozen=frozen),
            neck=None,
            head=dict(type='MultiLabelLinearClsHead', num_classes=NUM_CLASSES,
                      in_channels=256)))
    clf.init_weights()
    clf.train()
    assert clf.backbone.training is not frozen
    x = torch.randn(4, NUM_FEATURES)
    losses = clf.loss(x, _samples(4))
    assert losses['loss'].ndim == 0
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()
    head_fc = clf.head.fc
    assert head_fc.weight.grad is not None
    first = clf.backbone.layers[0]
    assert (first.weight.grad is None) == frozen

    clf.eval()
    preds = clf.predict(x, _samples(4))
    assert len(preds) == 4
    assert preds[0].pred_score.shape == (NUM_CLASSES, )
    assert clf.extract_feat(x)[0].shape == (4, 256)


def test_image_classifier_through_pipeline():
    """``RandomFeatureMask`` -> ``PackInputs`` -> ``ClsDataPreprocessor`` -> classifier."""
    clf = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='MulSupConMLP', in_channels=NUM_FEATURES),
            neck=None,
            head=dict(type='MultiLabelLinearClsHead', num_classes=NUM_CLASSES,
                      in_channels=256)))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose([dict(type='RandomFeatureMask', prob=0.0), dict(type='PackInputs')])
    rng = np.random.default_rng(0)
    data = pseudo_collate(
        [pipeline(dict(img=rng.standard_normal(NUM_FEATURES), gt_label=[1, 3]))
         for _ in range(4)])
    data = clf.data_preprocessor(data, True)
    assert data['inputs'].shape == (4, NUM_FEATURES)
    losses = clf(**data, mode='loss')
    assert torch.isfinite(losses['loss'])


def _moco():
    return MODELS.build(
        dict(
            type='MultiLabelMoCo',
            backbone=dict(type='MulSupConMLP', in_channels=NUM_FEATURES),
            neck=dict(type='MulSupConNeck', in_channels=256, out_channels=256),
            head=dict(type='MulSupConHead'),
            num_classes=NUM_CLASSES,
            queue_len=8))


def test_multilabel_moco_with_mlp():
    torch.manual_seed(0)
    moco = _moco()
    moco.train()
    samples = _samples(4)
    for _ in range(3):  # third step uses the (full) queue
        v1, v2 = torch.randn(4, NUM_FEATURES), torch.randn(4, NUM_FEATURES)
        losses = moco.loss([v1, v2], samples)
        assert torch.isfinite(losses['loss'])
        losses['loss'].backward()
    assert float(losses['queue_used']) == 8
    assert moco.backbone.layers[0].weight.grad is not None


def test_multilabel_moco_through_pipeline():
    """Two masked views -> ``PackInputs`` -> ``default_collate`` -> ``SelfSupDataPreprocessor``."""
    moco = _moco()
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose([
            dict(
                type='MultiView',
                num_views=2,
                transforms=[[dict(type='RandomFeatureMask', prob=0.5)]]),
            dict(type='PackInputs'),
        ])
    rng = np.random.default_rng(1)
    np.random.seed(1)  # noqa: NPY002  (the transform uses numpy's global generator)
    data = default_collate(
        [pipeline(dict(img=rng.standard_normal(NUM_FEATURES).astype(np.float32),
                       gt_label=[i % NUM_CLASSES, 5])) for i in range(4)])
    data = moco.data_preprocessor(data, True)
    v1, v2 = data['inputs']
    assert v1.shape == v2.shape == (4, NUM_FEATURES)
    assert not torch.equal(v1 == 0, v2 == 0)
    losses = moco(**data, mode='loss')
    assert torch.isfinite(losses['loss'])
