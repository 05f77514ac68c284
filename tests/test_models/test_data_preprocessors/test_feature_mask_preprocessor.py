# Copyright (c) mlcl_plugin authors. All rights reserved.
"""FeatureMaskDataPreprocessor: batched per-view feature masking of B x F vectors."""
import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mlcl_plugin  # noqa: F401  (registers the preprocessor)
from mlcl_plugin.models.data_preprocessors import FeatureMaskDataPreprocessor


def _batch(num=64, feats=103, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(num, feats, generator=gen, dtype=torch.float64) + 3.0  # no exact zeros
    return {'inputs': x, 'data_samples': [DataSample() for _ in range(num)]}


@pytest.mark.parametrize('prob', [0.2, 0.5, 0.8])
def test_rate_views_and_values(prob):
    pre = MODELS.build(dict(type='FeatureMaskDataPreprocessor', mask_prob=prob, num_views=3))
    assert isinstance(pre, FeatureMaskDataPreprocessor)
    data = _batch(num=256)
    torch.manual_seed(0)
    out = pre(data, training=True)
    views = out['inputs']
    assert isinstance(views, list)
    assert len(views) == 3
    x = data['inputs'].float()
    for v in views:
        assert v.shape == x.shape
        assert v.dtype == torch.float32
        dropped = v == 0
        # every entry is either the original value or exactly zero
        assert torch.equal(v[~dropped], x[~dropped])
        assert abs(dropped.double().mean().item() - prob) < 0.02
    # the views draw their own masks, independently of each other
    d0, d1 = views[0] == 0, views[1] == 0
    both = (d0 & d1).double().mean().item()
    assert abs(both - prob * prob) < 0.02
    assert len(out['data_samples']) == len(data['data_samples'])


def test_eval_passthrough_and_mask_in_eval():
    data = _batch()
    pre = FeatureMaskDataPreprocessor(mask_prob=0.5)
    out = pre(data, training=False)
    assert torch.is_tensor(out['inputs'])
    assert torch.equal(out['inputs'], data['inputs'].float())
    out = FeatureMaskDataPreprocessor(mask_prob=0.5, mask_in_eval=True)(data, training=False)
    assert isinstance(out['inputs'], list)
    assert len(out['inputs']) == 2
    assert (out['inputs'][0] == 0).any()


def test_prob_zero_and_list_input():
    data = _batch()
    out = FeatureMaskDataPreprocessor(mask_prob=0.0)(data, training=True)
    assert all(torch.equal(v, data['inputs'].float()) for v in out['inputs'])
    # views already made by a MultiView pipeline are masked one by one
    views = {'inputs': [data['inputs'], data['inputs'] * 2], 'data_samples': None}
    out = FeatureMaskDataPreprocessor(mask_prob=0.5)(views, training=True)
    assert len(out['inputs']) == 2
    kept = out['inputs'][1] != 0
    assert torch.equal(out['inputs'][1][kept], (data['inputs'] * 2).float()[kept])


def test_seeded_reproducible():
    data = _batch()
    pre = FeatureMaskDataPreprocessor()
    torch.manual_seed(5)
    a = pre(data, training=True)['inputs']
    torch.manual_seed(5)
    b = pre(data, training=True)['inputs']
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_through_pipeline_collate_and_moco():
    """PackInputs -> default_collate -> this preprocessor -> MultiLabelMoCo on vectors."""
    from mmcv.transforms import Compose
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose([dict(type='PackInputs')])
        moco = MODELS.build(dict(
            type='MultiLabelMoCo', num_classes=4, queue_len=8, feat_dim=16,
            data_preprocessor=dict(type='FeatureMaskDataPreprocessor', mask_prob=0.5),
            backbone=dict(type='MulSupConMLP', in_channels=10),
            neck=dict(type='MulSupConNeck', in_channels=256, out_channels=16),
            head=dict(type='MulSupConHead')))
    rng = np.random.default_rng(0)
    batch = default_collate([
        pipeline(dict(img=rng.standard_normal(10).astype(np.float32), gt_label=[i % 4]))
        for i in range(4)])
    data = moco.data_preprocessor(batch, True)
    assert len(data['inputs']) == 2
    assert data['inputs'][0].shape == (4, 10)
    losses = moco(**data, mode='loss')
    assert torch.isfinite(losses['loss'])


def test_errors():
    with pytest.raises(ValueError, match='mask_prob'):
        FeatureMaskDataPreprocessor(mask_prob=1.0)
    with pytest.raises(ValueError, match='num_views'):
        FeatureMaskDataPreprocessor(num_views=0)
    with pytest.raises(ValueError, match='mean'):
        FeatureMaskDataPreprocessor(mean=[0.0], std=[1.0])
    img = {'inputs': torch.zeros(2, 3, 4, 4), 'data_samples': None}
    with pytest.raises(ValueError, match=r'B x F.*\(2, 3, 4, 4\)'):
        FeatureMaskDataPreprocessor()(img, training=True)
