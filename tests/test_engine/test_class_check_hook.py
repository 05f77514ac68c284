# Copyright (c) mlcl_plugin authors. All rights reserved.
import json
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.dataset import ConcatDataset
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import HOOKS

import mlcl_plugin  # noqa: F401


def _dataset(tmp_path, name, classes, labels):
    ann = tmp_path / f'{name}.json'
    ann.write_text(json.dumps(dict(
        metainfo=dict(classes=classes),
        data_list=[dict(img_path=f'{i}.png', gt_label=lb) for i, lb in enumerate(labels)])))
    return MultiLabelDataset(ann_file=str(ann), data_root=str(tmp_path))


def _runner(dataset, num_classes):
    model = nn.Module()
    model.head = SimpleNamespace(num_classes=num_classes)
    return SimpleNamespace(model=model, train_dataloader=SimpleNamespace(dataset=dataset),
                           val_dataloader=SimpleNamespace(dataset=dataset))


def test_matching_classes_pass(tmp_path):
    hook = HOOKS.build(dict(type='MultiLabelClassCheckHook'))
    ds = _dataset(tmp_path, 'a', ['x', 'y', 'z'], [[0, 2], [1], []])
    hook.before_train(_runner(ds, 3))
    hook.before_val(_runner(ds, 3))


def test_num_classes_mismatch_names_both_numbers(tmp_path):
    hook = HOOKS.build(dict(type='MultiLabelClassCheckHook'))
    ds = _dataset(tmp_path, 'a', ['x', 'y', 'z'], [[0, 2], [1]])
    with pytest.raises(ValueError, match=r'has 3 classes but the model is configured with '
                                         r'num_classes=80'):
        hook.before_train(_runner(ds, 80))


def test_label_out_of_range_names_sample(tmp_path):
    hook = HOOKS.build(dict(type='MultiLabelClassCheckHook'))
    ds = _dataset(tmp_path, 'a', ['x', 'y'], [[0], [1, 5]])
    with pytest.raises(ValueError, match=r'sample 1 of MultiLabelDataset.*has label 5, '
                                         r'outside \[0, 2\)'):
        hook.before_val(_runner(ds, 2))


def test_wrapped_datasets_are_checked(tmp_path):
    hook = HOOKS.build(dict(type='MultiLabelClassCheckHook', num_classes=2))
    good = _dataset(tmp_path, 'good', ['x', 'y'], [[0]])
    bad = _dataset(tmp_path, 'bad', ['x', 'y'], [[3]])
    with pytest.raises(ValueError, match='has label 3'):
        hook.before_train(_runner(ConcatDataset([good, bad]), None))


def test_algorithm_num_classes_is_preferred(tmp_path):
    hook = HOOKS.build(dict(type='MultiLabelClassCheckHook'))
    ds = _dataset(tmp_path, 'a', ['x', 'y'], [[0]])
    runner = _runner(ds, None)
    runner.model.num_classes = 5
    with pytest.raises(ValueError, match='num_classes=5'):
        hook.before_train(runner)
