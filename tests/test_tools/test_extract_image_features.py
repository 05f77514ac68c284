# Copyright (c) mlcl_plugin authors. All rights reserved.
"""tools/dataset_converters/extract_image_features.py: image embeddings as a vector data set
(the input of the MulSupCon paper's Table 4), against torchvision's ResNet run on the same
pixels, read back by MulanDataset, with reruns and bad inputs."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
import torchvision
from mmengine.config import Config

from tests.tiny_run import REPO_ROOT, load_tool

tool = load_tool('tools/dataset_converters/extract_image_features.py')
VOC_CONFIG = osp.join(REPO_ROOT, 'configs/baselines/resnet50_8xb8-bce-coslr-400e_voc07.py')
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
# an ImageNet classifier config as mmpretrain writes it: the preprocessor at the top level
MODEL_CONFIG = f"""custom_imports = dict(imports=['mlcl_plugin'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, num_stages=4, out_indices=(3, ), style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=512))
data_preprocessor = dict(num_classes=1000, mean={MEAN}, std={STD}, to_rgb=True)
"""
# the shipped image configs the vector data-set configs are made from
IMAGE_CONFIGS = {
    'coco2014': 'configs/baselines/resnet50_8xb8-bce-coslr-400e_coco2014.py',
    'voc07': 'configs/baselines/resnet50_8xb8-bce-coslr-400e_voc07.py',
    'mirflickr25k': 'configs/baselines/resnet50_8xb8-bce-coslr-400e_mirflickr25k.py',
}


def _cfg(rel):
    return Config.fromfile(osp.join(REPO_ROOT, rel))


@pytest.mark.parametrize('name', sorted(IMAGE_CONFIGS))
def test_splits_of_the_shipped_image_configs(name):
    """train is the whole training set (the carve-out undone) with the test pipeline; test is
    the test set; the vector config that reads them names the image config and its classes."""
    rel = IMAGE_CONFIGS[name]
    cfg = _cfg(rel)
    train = tool.split_dataset_config(cfg, 'train', rel)
    test = tool.split_dataset_config(cfg, 'test', rel)
    test_pipeline = [dict(p) for p in cfg.test_dataloader.dataset.pipeline]
    assert train['pipeline'] == test_pipeline == test['pipeline']
    assert 'RandomResizedCrop' not in json.dumps(train)
    assert train.get('subset', 'all') == 'all'
    assert train['type'] != 'KFoldDataset'
    assert test == {**dict(cfg.test_dataloader.dataset), 'pipeline': test_pipeline}
    if name == 'voc07':
        assert (train['type'], train['split']) == ('VOC', 'trainval')
    vec_rel = f'configs/_base_/datasets/{name}_resnet50_vectors.py'
    vec = _cfg(vec_rel)
    assert vec.num_features == 2048
    assert vec.num_classes == cfg.model.head.num_classes
    assert rel in ' '.join(open(osp.join(REPO_ROOT, vec_rel)).read().split())
    assert vec.train_dataloader.dataset.split_files == dict(train='train.npz', test='test.npz')


def test_split_config_errors():
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='X', pipeline=[])),
                      test_dataloader=None))
    with pytest.raises(ValueError, match='my.py has no train_dataloader'):
        tool.split_dataset_config(cfg, 'train', 'my.py')
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(type='RepeatDataset', times=2,
                                           dataset=dict(type='X'))),
        test_dataloader=dict(dataset=dict(type='X', pipeline=[dict(type='PackInputs')]))))
    with pytest.raises(ValueError, match='my.py: the train dataset wraps another one'):
        tool.split_dataset_config(cfg, 'train', 'my.py')


@pytest.fixture
def model_and_weights(tmp_path):
    """The model config and a bare torchvision ResNet-18 state dict (random, seeded)."""
    config = tmp_path / 'resnet18_in1k.py'
    config.write_text(MODEL_CONFIG)
    torch.manual_seed(0)
    net = torchvision.models.resnet18()
    with torch.no_grad():  # random BN statistics, so that eval-mode BN is not an identity
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    weights = tmp_path / 'resnet18-torchvision.pth'
    torch.save(net.state_dict(), weights)
    return str(config), str(weights), net.eval()


def _reference(net, voc_root):
    """torchvision's forward, up to the average pool, on the pixels of the VOC config's test
    pipeline, normalised here by hand."""
    from mlcl_plugin.analysis.loading import build_dataset

    cfg = _cfg('configs/baselines/resnet50_8xb8-bce-coslr-400e_voc07.py')
    spec = tool.split_dataset_config(cfg, 'train', 'voc', data_root=voc_root)
    dataset = build_dataset(spec)
    feats, labels = [], []
    body = torch.nn.Sequential(*list(net.children())[:-1])  # without fc
    for i in range(len(dataset)):
        item = dataset[i]
        bgr = item['inputs'].float()
        rgb = bgr[[2, 1, 0]]
        x = (rgb - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
        with torch.no_grad():
            feats.append(body(x[None]).flatten(1)[0])
        labels.append(sorted(item['data_samples'].gt_label.tolist()))
    return torch.stack(feats).numpy(), labels


def ds_classes():
    from mmpretrain.datasets.categories import VOC2007_CATEGORIES

    return VOC2007_CATEGORIES


def test_extract_voc_end_to_end(voc_root, model_and_weights, tmp_path, capsys):
    config, weights, net = model_and_weights
    out = tmp_path / 'voc07_resnet18'
    argv = [VOC_CONFIG, weights, '--model-config', config, '--out-dir', str(out),
            '--data-root', voc_root, '--batch-size', '3', '--num-workers', '0']
    written = tool.main(argv)
    assert sorted(written) == ['test', 'train']
    ref, ref_labels = _reference(net, voc_root)
    with np.load(written['train'], allow_pickle=False) as d:
        X, Y, names = d['X'], d['Y'], d['label_names']
    assert (X.dtype, Y.dtype) == (np.float32, np.uint8)
    assert (X.shape, Y.shape) == ((8, 512), (8, 20))
    np.testing.assert_allclose(X, ref, rtol=1e-4, atol=1e-4)
    assert [sorted(np.flatnonzero(y).tolist()) for y in Y] == ref_labels
    assert names.tolist() == list(ds_classes())
    record = json.load(open(out / 'train.json'))
    assert (record['rows'], record['num_features']) == (8, 512)
    assert record['dataset']['split'] == 'trainval'
    # the files are a vector data set: MulanDataset reads them, standardised on train
    from mlcl_plugin.datasets import MulanDataset

    ds = MulanDataset(data_root=str(out), split_files=dict(train='train.npz', test='test.npz'),
                      split='test', val_fraction=0.25, val_seed=0, num_features=512,
                      num_labels=20, pipeline=[dict(type='PackInputs')], test_mode=True)
    assert len(ds) == 8
    assert ds.metainfo['classes'][0] == 'aeroplane'
    assert tuple(ds[0]['inputs'].shape) == (512, )
    # a rerun keeps both files, untouched
    stamps = {p: os.stat(p).st_mtime_ns for p in written.values()}
    capsys.readouterr()
    tool.main(argv)
    assert capsys.readouterr().out.count('kept') == 2
    assert {p: os.stat(p).st_mtime_ns for p in written.values()} == stamps
    # other weights: an error naming what differs, until --overwrite
    other = tmp_path / 'other.pth'
    state = net.state_dict()
    state['conv1.weight'] = state['conv1.weight'] * 2
    torch.save(state, other)
    argv_other = [a if a != weights else str(other) for a in argv]
    with pytest.raises(ValueError, match=r'train.npz exists but was made with another '
                       r'checkpoint_sha256'):
        tool.main(argv_other)
    tool.main(argv_other + ['--overwrite', '--splits', 'train'])
    with np.load(written['train'], allow_pickle=False) as d:
        assert not np.allclose(d['X'], X)


def test_bad_inputs_write_nothing(voc_root, model_and_weights, tmp_path):
    config, weights, net = model_and_weights
    out = tmp_path / 'out'
    base = [VOC_CONFIG, '--model-config', config, '--out-dir', str(out), '--data-root',
            voc_root, '--num-workers', '0']
    with pytest.raises(FileNotFoundError, match='checkpoint .*absent.pth does not exist'):
        tool.main([base[0], str(tmp_path / 'absent.pth')] + base[1:])
    unrelated = tmp_path / 'unrelated.pth'
    torch.save({'foo.weight': torch.zeros(3)}, unrelated)
    with pytest.raises(ValueError, match='backbone weights are missing'):
        tool.main([base[0], str(unrelated)] + base[1:])
    state = net.state_dict()
    state['conv1.weight'] = torch.full_like(state['conv1.weight'], float('nan'))
    nan = tmp_path / 'nan.pth'
    torch.save(state, nan)
    with pytest.raises(ValueError, match='nan.pth on the train split: 8 of 8 embeddings are '
                       'not finite'):
        tool.main([base[0], str(nan)] + base[1:])
    with pytest.raises(FileNotFoundError, match='--data-root .*nowhere is not a folder'):
        tool.main([base[0], weights] + base[1:] + ['--data-root', str(tmp_path / 'nowhere')])
    assert not out.exists() or not any(out.iterdir())


def test_default_model_config_takes_torchvision_resnet50_weights(tmp_path):
    """The default model (mmpretrain's ImageNet ResNet-50 config, installed with mmpretrain)
    builds with its top-level preprocessor and loads a bare torchvision ResNet-50 state dict
    into its backbone."""
    from mlcl_plugin.analysis.loading import build_model, load_config

    cfg = load_config(tool.DEFAULT_MODEL)
    assert cfg.model.backbone.depth == 50
    torch.manual_seed(0)
    net = torchvision.models.resnet50()
    weights = tmp_path / 'resnet50-torchvision.pth'
    torch.save(net.state_dict(), weights)
    model = build_model(cfg, str(weights), source=tool.DEFAULT_MODEL)
    assert torch.equal(model.backbone.layer4[2].conv3.weight, net.layer4[2].conv3.weight)
    assert torch.equal(model.backbone.conv1.weight, net.conv1.weight)
    assert model.data_preprocessor.mean.flatten().tolist() == pytest.approx(MEAN)
    assert model.scores_loaded is False  # torchvision's fc is not mmpretrain's head
    with pytest.raises(FileNotFoundError, match='mmpretrain::resnet/absent.py'):
        load_config('mmpretrain::resnet/absent.py')
