# Copyright (c) mlcl_plugin authors. All rights reserved.
import copy

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mlcl_plugin.models import MulSupConLoss
from tests.test_models.test_selfsup.moco_fixtures import build_moco, make_batch


def test_queue_full_mode_waits_until_every_entry_is_written():
    model = build_moco(queue_len=8, queue_mode='full')
    used = []
    for step in range(4):
        views, samples = make_batch(step, 4)
        used.append(float(model.loss(views, samples)['queue_used']))
    # steps 1-2 fill the queue (2 x 4 keys); it is used from step 3 on
    assert used == [0.0, 0.0, 8.0, 8.0]
    assert int(model.queue_ptr) == 0
    assert int(model.queue_filled) == 8


def test_queue_always_mode_uses_written_entries():
    model = build_moco(queue_len=12, queue_mode='always')
    used = [float(model.loss(*make_batch(s, 4))['queue_used']) for s in range(4)]
    assert used == [0.0, 4.0, 8.0, 12.0]


def test_step_matches_manual_computation():
    """Reference set = this step's keys + the queue before the step; labels alongside."""
    model = build_moco(queue_len=8, queue_mode='full')
    for step in range(2):
        model.loss(*make_batch(step, 4))
    before = copy.deepcopy(model)
    views, samples = make_batch(2, 4)
    loss = model.loss(views, samples)['loss']

    # manual: momentum update, then q / k, then MulSupCon against [k; queue]
    before.encoder_k.update_parameters(torch.nn.Sequential(before.backbone, before.neck))
    q = F.normalize(before.neck(before.backbone(views[0]))[0], dim=1)
    k = F.normalize(before.encoder_k(views[1])[0], dim=1)
    y = torch.zeros(4, 4)
    for i, s in enumerate(samples):
        y[i, s.gt_label] = 1
    keys = torch.cat([k, before.queue])
    key_labels = torch.cat([y, before.queue_labels.float()])
    expected = MulSupConLoss(temperature=0.2)(q, keys, y, key_labels)
    torch.testing.assert_close(loss, expected)
    # this step's keys and labels were enqueued at the pointer (0 after a wrap)
    torch.testing.assert_close(model.queue[:4], k)
    torch.testing.assert_close(model.queue_labels[:4].float(), y)
    assert int(model.queue_ptr) == 4


def test_gradient_reaches_query_encoder_only():
    model = build_moco()
    model.loss(*make_batch(0, 4))['loss'].backward()  # queue empty: in-batch keys only
    model.zero_grad()
    model.loss(*make_batch(1, 4))['loss'].backward()
    assert model.backbone.conv.weight.grad is not None
    assert model.backbone.conv.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.encoder_k.parameters())


def test_state_dict_round_trip_restores_queue_state():
    model = build_moco(queue_len=12)
    for step in range(2):
        model.loss(*make_batch(step, 4))
    fresh = build_moco(queue_len=12, seed=1)
    fresh.load_state_dict(model.state_dict())
    assert (fresh._ptr, fresh._filled) == (8, 8)
    a = model.loss(*make_batch(5, 4))['loss']
    b = fresh.loss(*make_batch(5, 4))['loss']
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(model.queue, fresh.queue)


def test_queue_len_not_divisible_by_global_batch():
    model = build_moco(queue_len=10)
    with pytest.raises(ValueError, match=r'queue_len \(10\) must be a multiple of the global '
                                         r'batch size \(4 = 4 per process x 1 processes\)'):
        model.loss(*make_batch(0, 4))


@pytest.mark.parametrize(('kwargs', 'match'), [
    (dict(queue_len=0), 'queue_len must be a positive int'),
    (dict(num_classes=0), 'num_classes must be a positive int'),
    (dict(queue_mode='sometimes'), 'queue_mode must be one of'),
    (dict(momentum=1.5), 'momentum'),
])
def test_bad_arguments(kwargs, match):
    cfg = dict(type='MultiLabelMoCo', backbone=dict(type='ResNet', depth=18),
               neck=dict(type='MulSupConNeck', in_channels=512),
               head=dict(type='MulSupConHead'), num_classes=4)
    cfg.update(kwargs)
    with pytest.raises(ValueError, match=match):
        MODELS.build(cfg)


def test_label_outside_num_classes_is_rejected():
    model = build_moco(num_classes=4)
    views, samples = make_batch(0, 4)
    samples[1] = DataSample().set_gt_label([7])
    with pytest.raises(ValueError, match=r'label index 7 is outside \[0, 4\)'):
        model.loss(views, samples)


def test_missing_labels_are_rejected():
    model = build_moco()
    views, _ = make_batch(0, 4)
    with pytest.raises(ValueError, match='neither gt_label nor gt_score'):
        model.loss(views, [DataSample() for _ in range(4)])


def test_single_view_is_rejected():
    model = build_moco()
    views, samples = make_batch(0, 4)
    with pytest.raises(ValueError, match='two views'):
        model.loss(views[:1], samples)


def test_gt_score_labels_equal_gt_label_labels():
    model_a, model_b = build_moco(), build_moco()
    views, samples = make_batch(0, 4)
    scored = []
    for s in samples:
        y = torch.zeros(4)
        y[s.gt_label] = 1
        scored.append(DataSample().set_gt_score(y))
    torch.testing.assert_close(model_a.loss(views, samples)['loss'],
                               model_b.loss(views, scored)['loss'])


def test_shuffle_bn_is_a_no_op_on_one_process():
    a, b = build_moco(), build_moco()
    b.shuffle_bn = True
    views, samples = make_batch(0, 4)
    torch.testing.assert_close(a.loss(views, samples)['loss'], b.loss(views, samples)['loss'])


def test_builds_from_config_with_resnet_and_runs():
    model = MODELS.build(dict(
        type='MultiLabelMoCo', num_classes=4, queue_len=8, feat_dim=16,
        backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8),
        neck=dict(type='MulSupConNeck', in_channels=64, out_channels=16),
        head=dict(type='MulSupConHead', positives='any')))
    model.init_weights()
    views, samples = make_batch(0, 4)
    views = [F.interpolate(v, size=32) for v in views]
    losses = model(views, samples, mode='loss')
    assert torch.isfinite(losses['loss'])
    feats = model(views[0], mode='tensor')
    assert feats[0].shape == (4, 64, 1, 1)
