# Copyright (c) mlcl_plugin authors. All rights reserved.
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import HOOKS

import mlcl_plugin  # noqa: F401
from mlcl_plugin.engine.hooks import label_frequencies


def _dataset(tmp_path, labels, num_classes):
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(dict(
        metainfo=dict(classes=[f'c{i}' for i in range(num_classes)]),
        data_list=[dict(img_path=f'{i}.png', gt_label=lb) for i, lb in enumerate(labels)])))
    return MultiLabelDataset(ann_file=str(ann), data_root=str(tmp_path))


class _Model(nn.Module):

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.head = nn.Module()
        self.head.fc = nn.Linear(in_channels, num_classes)


def _runner(model, dataset, it=0, epoch=0, load_from=None):
    return SimpleNamespace(model=model, train_dataloader=SimpleNamespace(dataset=dataset),
                           iter=it, epoch=epoch, _load_from=load_from, _resume=False)


class _Empty:
    data_list = []

    def __len__(self):
        return 0

    def get_cat_ids(self, idx):
        raise IndexError(idx)


def test_frequencies_are_smoothed_label_shares(tmp_path):
    # 4 samples, 3 classes: class 0 in 3, class 1 in 1, class 2 in none
    ds = _dataset(tmp_path, [[0], [0, 1], [0], []], 3)
    np.testing.assert_allclose(label_frequencies(ds, 3), [3.5 / 5, 1.5 / 5, 0.5 / 5])
    with pytest.raises(ValueError, match=r'sample 1 of .* has a label outside \[0, 1\)'):
        label_frequencies(ds, 1)
    with pytest.raises(ValueError, match='no samples'):
        label_frequencies(_Empty(), 3)


def test_bias_is_the_logit_of_the_prior(tmp_path):
    rng = np.random.default_rng(0)
    num_classes, n = 200, 400
    # about 2 % density, as the data sets with hundreds of labels
    labels = [np.flatnonzero(rng.random(num_classes) < 0.02).tolist() for _ in range(n)]
    ds = _dataset(tmp_path, labels, num_classes)
    model = _Model(8, num_classes)
    HOOKS.build(dict(type='LabelPriorBiasHook')).before_train(_runner(model, ds))
    freq = label_frequencies(ds, num_classes)
    np.testing.assert_allclose(torch.sigmoid(model.head.fc.bias.detach().double()).numpy(), freq,
                               rtol=1e-5)
    # predicting the prior: the BCE on the training labels is the mean label entropy,
    # far below the log 2 of a bias at 0
    target = torch.zeros(n, num_classes)
    for i, lb in enumerate(labels):
        target[i, lb] = 1
    with torch.no_grad():
        model.head.fc.weight.zero_()
        loss = F.binary_cross_entropy_with_logits(model.head.fc(torch.zeros(n, 8)), target)
    assert loss.item() < 0.15 < np.log(2)


def test_resumed_or_loaded_runs_keep_their_bias(tmp_path):
    ds = _dataset(tmp_path, [[0], [1], [0, 1]], 2)
    hook = HOOKS.build(dict(type='LabelPriorBiasHook'))
    for kwargs in (dict(it=10), dict(epoch=2), dict(load_from='full_model.pth')):
        model = _Model(4, 2)
        before = model.head.fc.bias.detach().clone()
        hook.before_train(_runner(model, ds, **kwargs))
        assert torch.equal(model.head.fc.bias, before), kwargs


def test_wrong_layer_or_width_names_it(tmp_path):
    ds = _dataset(tmp_path, [[0], [1]], 2)
    with pytest.raises(AttributeError, match="no 'head.classifier'"):
        HOOKS.build(dict(type='LabelPriorBiasHook', layer='head.classifier')).before_train(
            _runner(_Model(4, 2), ds))
    with pytest.raises(ValueError, match='head.fc has 2 outputs, num_classes=3'):
        HOOKS.build(dict(type='LabelPriorBiasHook', num_classes=3)).before_train(
            _runner(_Model(4, 2), ds))
    model = _Model(4, 2)
    model.head.fc = nn.Linear(4, 2, bias=False)
    with pytest.raises(ValueError, match='no 1-D bias'):
        HOOKS.build(dict(type='LabelPriorBiasHook')).before_train(_runner(model, ds))
