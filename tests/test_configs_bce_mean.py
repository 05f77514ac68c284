# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Every shipped config with a multi-label BCE head trains on the BCE MEAN over the classes.

mmpretrain's multi-label heads pass ``avg_factor = batch size`` to a sigmoid ``CrossEntropyLoss``,
which therefore SUMS the BCE over the ``C`` classes: ``C`` times the papers' mean (and an SGD
recipe then runs at ``C`` times its learning rate). The plugin configs use ``ClassMeanBCELoss``;
the real-photo configs a hand-typed ``loss_weight=1.0 / C``. Either way, the head's loss on zero
logits and all-zero targets must be ``log 2`` (the mean), not ``C log 2`` (the sum).
"""
import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.models.heads import MultiLabelClsHead
from mmpretrain.models.losses import CrossEntropyLoss
from mmpretrain.registry import MODELS

import mlcl_plugin  # noqa: F401  (registers the plugin)
from tests.tiny_run import REPO_ROOT

CONFIGS = sorted(
    osp.relpath(p, REPO_ROOT)
    for p in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)


def _is_sigmoid_ce(loss_cfg):
    if not isinstance(loss_cfg, dict) or 'type' not in loss_cfg:
        return False
    cls = MODELS.get(loss_cfg['type'])
    return (isinstance(cls, type) and issubclass(cls, CrossEntropyLoss)
            and (loss_cfg.get('use_sigmoid', False) or cls.__name__ == 'ClassMeanBCELoss'))


def _is_multilabel_head(cfg):
    cls = MODELS.get(cfg['type']) if isinstance(cfg.get('type'), str) else None
    return isinstance(cls, type) and issubclass(cls, MultiLabelClsHead)


def _bce_heads(node, path='model'):
    """(path, head config) of every multi-label head or head with a sigmoid CE loss."""
    found = []
    if isinstance(node, dict):
        if 'type' in node and (_is_multilabel_head(node) or _is_sigmoid_ce(node.get('loss'))):
            found.append((path, node))
        for key, value in node.items():
            found += _bce_heads(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            found += _bce_heads(value, f'{path}[{i}]')
    return found


def _heads_of(rel):
    cfg = Config.fromfile(osp.join(REPO_ROOT, rel))
    return _bce_heads(cfg.to_dict().get('model'))


@pytest.fixture(scope='module')
def bce_heads():
    return {rel: heads for rel in CONFIGS if (heads := _heads_of(rel))}


def test_found_the_known_bce_configs(bce_heads):
    expected = [
        'configs/baselines/resnet50_8xb8-bce-coslr-400e_coco2014.py',
        'configs/baselines/resnet50_8xb8-bce-coslr-400e_coco2017.py',
        'configs/blockwise/benchmarks/resnet50_8xb8-linear-sgd-coslr-100e_coco-448.py',
        'configs/blockwise/benchmarks/resnet50_8xb8-linear-sgd-coslr-100e_voc07.py',
        'configs/lightly/benchmarks/resnet18-w16_linear-adam-20e_coco128.py',
        'configs/mulcon/mulcon-stage1_resnet101_2xb16-adamw-25e_coco-448px.py',
        'configs/mulcon/mulcon-stage2_resnet18_1xb8-sgd-4e_coco128-128px.py',
        'configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_voc07.py',
        'configs/mulsupcon_vector/benchmarks/mlp_1xb32-finetune-adam-1500it_yeast.py',
        'configs/toy_shapes/resnet18-w16_linear-adam-10e_toyshapes.py',
        'configs/real_photos/bce_resnet18-w16_1xb64-adam-15e_peta.py',
        'configs/real_photos/mulcon-stage2_resnet18-w16_1xb32-sgd-5e_miml.py',
    ]
    missing = [rel for rel in expected if rel in CONFIGS and rel not in bce_heads]
    assert not missing, f'multi-label BCE heads not found in {missing}'


def test_every_bce_head_averages_over_classes(bce_heads):
    assert bce_heads
    wrong = []
    for rel, heads in bce_heads.items():
        for path, head_cfg in heads:
            head_cfg = {k: v for k, v in head_cfg.items() if k != 'init_cfg'}
            head = MODELS.build(head_cfg)
            num_classes = head_cfg.get('num_classes', getattr(head, 'num_classes', None))
            assert isinstance(num_classes, int), (rel, path)
            assert num_classes > 0, (rel, path)
            loss_module = head.loss_module
            batch = 3
            zeros = torch.zeros(batch, num_classes)
            # the heads' call: avg_factor = batch size
            value = loss_module(zeros, zeros, avg_factor=batch).item()
            per_class_weight = value / (num_classes * math.log(2))
            if not math.isclose(per_class_weight, 1.0 / num_classes, rel_tol=1e-5):
                wrong.append(f'{rel} ({path}, C={num_classes}): per-class weight '
                             f'{per_class_weight:.6g}, expected 1/{num_classes}')
    assert not wrong, 'BCE not averaged over the classes:\n' + '\n'.join(wrong)
