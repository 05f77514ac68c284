# Copyright (c) mlcl_plugin authors. All rights reserved.
"""BlockSimSiam: the reference's training objective on block views (single process)."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models import SimSiam
from mmpretrain.structures import DataSample

from mlcl_plugin.models import SimSiamHead, split_block_views
from tests.test_models.test_losses.test_image_aware_loss import reference_loss
from tests.test_models.test_selfsup.block_fixtures import build_block_simsiam, make_block_batch


def _manual(model, views, num_images, form='log_sum'):
    """The paper's step written out: block-major rows, cosine term, 4 x IA on [p1; z2] and
    [p2; z1]."""
    x1, x2 = torch.cat(views[:4]), torch.cat(views[4:])
    z1, z2 = model.neck(model.backbone(x1))[0], model.neck(model.backbone(x2))[0]
    p1, p2 = model.head.predictor([z1])[0], model.head.predictor([z2])[0]
    cos = -0.5 * (F.cosine_similarity(p1, z2).mean() + F.cosine_similarity(p2, z1).mean())
    ids = torch.arange(num_images).repeat(4).repeat(2)  # row r of a block-major stack: r % B
    self_index = torch.arange(len(ids))
    ia = []
    for f in (torch.cat([p1, z2]), torch.cat([p2, z1])):
        f = F.normalize(f, dim=1)
        ia.append(reference_loss(f, f, ids, ids, self_index, form=form))
    return cos, 4 * 0.5 * (ia[0] + ia[1])


@pytest.mark.parametrize('form', ['log_sum', 'supcon'])
def test_loss_matches_manual_reference(form):
    model = build_block_simsiam(ia_head=dict(type='ImageAwareHead', loss_weight=4.0,
                                             form=form))
    views, samples = make_block_batch(0, 3)
    out = model.loss(views, samples)
    cos, ia = _manual(model, views, 3, form)
    torch.testing.assert_close(out['loss_simsiam'], cos)
    torch.testing.assert_close(out['loss_ia'], ia)
    assert out['ia_positives'].item() == 7.0  # 2m - 1, m = 4 blocks
    assert set(out) == {'loss_simsiam', 'loss_ia', 'ia_positives'}


def test_view_layout_is_read_from_the_samples():
    """Views given in another order with matching block/pipeline indices: same loss."""
    model = build_block_simsiam()
    views, samples = make_block_batch(1, 2)
    expected = model.loss(views, samples)
    order = [5, 0, 7, 2, 1, 4, 6, 3]
    shuffled = [views[v] for v in order]
    for s in samples:
        s.set_field(np.array([v % 4 for v in order]), 'block_idx')
        s.set_field(np.array([v // 4 for v in order]), 'pipeline_idx')
    got = model.loss(shuffled, samples)
    for key in ('loss_simsiam', 'loss_ia'):
        torch.testing.assert_close(got[key], expected[key])
    # without layout fields the views are taken as pipeline-major, as BlockWiseAug emits them
    bare = make_block_batch(1, 2, layout=False)
    torch.testing.assert_close(model.loss(*bare)['loss_ia'], expected['loss_ia'])


def test_no_stop_gradient_by_default_and_restorable():
    views, samples = make_block_batch(2, 2)
    grads = {}
    for stop in (False, True):
        model = build_block_simsiam(ia_head=None, stop_gradient=stop)
        out = model.loss(views, samples)
        assert set(out) == {'loss_simsiam'}
        out['loss_simsiam'].backward()
        grads[stop] = model.neck.fc0.weight.grad.clone()
    # same value, but the projector gets extra gradient through the targets without detach
    assert not torch.allclose(grads[False], grads[True])


def _stock_simsiam(ours):
    """mmpretrain's SimSiam with the stock LatentPredictHead, loaded from ``ours``."""
    head = dict(type='LatentPredictHead', loss=dict(type='CosineSimilarityLoss'),
                predictor=dict(type='NonLinearNeck', in_channels=8, hid_channels=4,
                               out_channels=8, with_avg_pool=False, with_last_bn=False,
                               with_last_bias=True, norm_cfg=dict(type='GN', num_groups=1)))
    stock = SimSiam(backbone=copy.deepcopy(ours.backbone), neck=copy.deepcopy(ours.neck),
                    head=head)
    stock.load_state_dict(ours.state_dict(), strict=True)
    return stock


def test_one_block_with_stop_gradient_is_stock_simsiam():
    views, samples = make_block_batch(3, 4, num_blocks=1)
    ours = build_block_simsiam(ia_head=None, stop_gradient=True)
    stock = _stock_simsiam(ours)
    a = ours.loss(views, samples)['loss_simsiam']
    b = stock.loss(views, samples)['loss']
    torch.testing.assert_close(a, b)
    a.backward()
    b.backward()
    for (name, p), q in zip(ours.named_parameters(), stock.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)


def test_stock_head_config_builds_a_simsiam_head_with_the_same_state():
    """The LatentPredictHead config of a SimSiam config builds a SimSiamHead whose state dict
    entries are the stock head's: checkpoints of either load into the other (strict)."""
    ours = build_block_simsiam()
    assert isinstance(ours.head, SimSiamHead)
    stock = _stock_simsiam(ours)
    assert list(stock.state_dict()) == [k for k in ours.state_dict()
                                        if not k.startswith('ia_head.')]
    ours.load_state_dict(stock.state_dict(), strict=False)  # ia_head holds no state
    z = torch.randn(5, 8)
    torch.testing.assert_close(ours.head(z), stock.head.predictor([z])[0])
    assert ours.head.loss(ours.head(z), z)['loss'].shape == ()


def test_gradients_reach_every_trainable_part():
    model = build_block_simsiam()
    out = model.loss(*make_block_batch(4, 2))
    (out['loss_simsiam'] + out['loss_ia']).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name


def test_bad_view_layouts():
    model = build_block_simsiam()
    views, samples = make_block_batch(0, 2)
    with pytest.raises(ValueError, match='list of block views'):
        model.loss(views[0], samples)
    with pytest.raises(ValueError, match='cannot be split into 2 pipelines'):
        model.loss(views[:7], [DataSample() for _ in range(2)])
    with pytest.raises(ValueError, match='describe 8 views'):
        model.loss(views[:6], samples)
    for s in samples:
        s.set_field(np.array([0, 1, 2, 3, 0, 1, 2, 3]), 'block_idx')
        s.set_field(np.array([0, 0, 0, 0, 1, 1, 2, 2]), 'pipeline_idx')
    with pytest.raises(ValueError, match='expected views of 2 pipelines'):
        model.loss(views, samples)
    for s in samples:
        s.set_field(np.array([0, 1, 2, 2, 0, 1, 2, 3]), 'block_idx')
        s.set_field(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 'pipeline_idx')
    with pytest.raises(ValueError, match='pipeline 0 does not cover every block'):
        split_block_views(views, samples)


def test_head_must_be_latent_predict_head():
    with pytest.raises(TypeError, match='LatentPredictHead'):
        build_block_simsiam().__class__(
            backbone=dict(type='ResNet', depth=18),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='ImageAwareHead'))
