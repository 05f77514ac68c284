# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Tiny inputs for the analysis tools: a generated image set, configs, checkpoints, logs.

Everything is small enough for a test to run a tool end to end in seconds on one core: a
ToyShapes test split of 24 images of 32 px, a ResNet-18 at 1/16 width (32-d embeddings) and
checkpoints written with ``torch.save`` of a plain state dict (loadable under the plugin's
``weights_only`` policy).
"""
import json
import os
import os.path as osp

import torch

NUM_CLASSES = 8  # ToyShapes
MEAN_STD = 'mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]'
BACKBONE = ("dict(type='ResNet', depth=18, stem_channels=4, base_channels=4, "
            "norm_cfg=dict(type='BN'))")
TEST_LOADER = """test_dataloader = dict(
    batch_size=8, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='MultiLabelDataset', data_root={data_root!r}, ann_file='test.json',
                 test_mode=True,
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
"""
CLASSIFIER = """custom_imports = dict(imports=['mlcl_plugin'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(num_classes={num_classes}, {mean_std}, to_rgb=True, to_onehot=True),
    backbone={backbone},
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='MultiLabelLinearClsHead', num_classes={num_classes}, in_channels=32))
"""
PRETRAIN = """custom_imports = dict(imports=['mlcl_plugin'], allow_failed_imports=False)
model = dict(
    type='MultiLabelMoCo', num_classes={num_classes}, queue_len=16, feat_dim=16,
    momentum=0.01, queue_mode='full',
    data_preprocessor=dict(type='SelfSupDataPreprocessor', {mean_std}, to_rgb=True),
    backbone={backbone},
    neck=dict(type='MulSupConNeck', in_channels=32, out_channels=16, dropout=0.1),
    head=dict(type='MulSupConHead', temperature=0.1, positives='mulsupcon'))
test_dataloader = None
"""
BLOCK = """custom_imports = dict(imports=['mlcl_plugin'], allow_failed_imports=False)
view = [dict(type='RandomResizedCrop', scale=16, crop_ratio_range=(0.2, 1.0),
             backend='pillow'),
        dict(type='RandomFlip', prob=0.5)]
block_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='BlockWiseAug', gamma=0.3, grid=2, transforms=[view, view]),
    dict(type='PackInputs', algorithm_keys=['block_idx', 'pipeline_idx']),
]
train_dataloader = dict(batch_size=2, dataset=dict(type='MultiLabelDataset', data_root='x',
                                                   ann_file='train.json',
                                                   pipeline=block_pipeline))
"""


def make_tiny_set(root: str, num_test: int = 24) -> str:
    """A ToyShapes set with ``num_test`` test images of 32 px in ``root``."""
    from mlcl_plugin.datasets import make_toy_shapes

    make_toy_shapes(root, num_train=2, num_test=num_test, size=32, seed=0)
    return root


def write_classifier_config(path: str, data_root: str) -> str:
    """An ``ImageClassifier`` config (tiny ResNet) with a test loader on ``data_root``."""
    fmt = dict(num_classes=NUM_CLASSES, mean_std=MEAN_STD, backbone=BACKBONE,
               data_root=data_root)
    with open(path, 'w') as f:
        f.write(CLASSIFIER.format(**fmt) + TEST_LOADER.format(**fmt))
    return path


def write_pretrain_config(path: str) -> str:
    """A ``MultiLabelMoCo`` pretraining config without a test loader."""
    with open(path, 'w') as f:
        f.write(PRETRAIN.format(num_classes=NUM_CLASSES, mean_std=MEAN_STD, backbone=BACKBONE))
    return path


def write_block_config(path: str) -> str:
    """A config whose training pipeline has a ``BlockWiseAug`` with 16 px views."""
    with open(path, 'w') as f:
        f.write(BLOCK)
    return path


def save_random_checkpoint(config: str, path: str, seed: int) -> str:
    """Build the config's model with seeded random weights and save its state dict."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import mlcl_plugin  # noqa: F401

    init_default_scope('mmpretrain')
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def write_scalars(work_dir: str, timestamp: str, records: list, tail: str = '') -> str:
    """``<work_dir>/<timestamp>/vis_data/scalars.json`` with one JSON record per line."""
    folder = osp.join(work_dir, timestamp, 'vis_data')
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, 'scalars.json')
    with open(path, 'w') as f:
        f.write(''.join(json.dumps(r) + '\n' for r in records) + tail)
    return path


def epoch_records(epochs, iters_per_epoch: int = 4, loss0: float = 1.0, lr0: float = 0.1,
                  metric: str = 'multi-label/mAP'):
    """Training records every 2 iterations and one validation record per epoch."""
    records = []
    for epoch in epochs:
        for it in range(2, iters_per_epoch + 1, 2):
            step = (epoch - 1) * iters_per_epoch + it
            records.append(dict(lr=lr0 / step, loss=loss0 / step, time=0.1, data_time=0.01,
                                epoch=epoch, iter=step, step=step))
        records.append({metric: 10.0 * epoch, 'data_time': 0.01, 'time': 0.1, 'step': epoch})
    return records
