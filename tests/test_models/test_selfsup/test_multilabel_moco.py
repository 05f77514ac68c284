# Copyright (c) mlcl_plugin authors. All rights reserved.
import copy

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mlcl_plugin.models import MulSupConLoss, MultiLabelMoCo
from tests.test_models.test_selfsup.moco_fixtures import (
    TinyBackbone,
    TinyNeck,
    build_moco,
    make_batch,
)


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


def _step_keys(model, views, samples):
    """The keys and labels a step enqueued, recomputed with the (already updated) key encoder
    (no BN in the tiny encoders, so this is the step's own key forward)."""
    with torch.no_grad():
        keys = F.normalize(model.encoder_k(views[1])[0], dim=1)
    labels = torch.zeros(len(samples), 4)
    for i, s in enumerate(samples):
        labels[i, s.gt_label] = 1
    return keys, labels


def _chronological(model):
    """Queue entries oldest first (the ring read from the pointer)."""
    n, ptr = int(model.queue_filled), int(model.queue_ptr)
    order = list(range(n)) if n < model.queue_len else (
        list(range(ptr, model.queue_len)) + list(range(ptr)))
    return model.queue[order], model.queue_labels[order].float()


def test_finding4_short_last_batch_and_any_queue_len_keep_the_newest_keys():
    """Finding 4: batches of 4, 4, 3 (a short last batch, drop_last=False), 4, 2, 4 into a
    queue of 10 used to crash on the slice write once the pointer was misaligned; the queue is
    now a ring buffer holding exactly the newest 10 keys and labels, in order."""
    model = build_moco(queue_len=10, queue_mode='always')
    all_keys, all_labels = [], []
    for step, size in enumerate([4, 4, 3, 4, 2, 4]):
        views, samples = make_batch(step, size)
        model.loss(views, samples)
        keys, labels = _step_keys(model, views, samples)
        all_keys.append(keys)
        all_labels.append(labels)
        expected_k = torch.cat(all_keys)[-10:]
        expected_y = torch.cat(all_labels)[-10:]
        got_k, got_y = _chronological(model)
        torch.testing.assert_close(got_k, expected_k)
        torch.testing.assert_close(got_y, expected_y)
    assert (model._ptr, model._filled) == (21 % 10, 10)


def _trained(queue_len, steps, mode='full'):
    model = build_moco(queue_len=queue_len, queue_mode=mode)
    for step in range(steps):
        model.loss(*make_batch(step, 4))
    return model


@pytest.mark.parametrize(('new_len', 'kept'), [(8, 8), (12, 12), (24, 16), (16, 16)])
def test_finding4_resume_other_queue_len(new_len, kept, monkeypatch):
    """Finding 4: a checkpoint with queue_len 16 (20 keys written) loaded into another
    queue_len used to skip the queue with a warning but load the counters, so never-written
    entries were read as keys. Now the newest keys are remapped in order, the counters fit and
    the change is logged; a shorter queue then continues exactly like a queue of that length
    that saw every key, a longer one is not used before it is full."""
    from mmengine.runner.checkpoint import load_state_dict

    from mlcl_plugin.models.utils import label_memory_bank

    logged = []
    monkeypatch.setattr(label_memory_bank, 'print_log', lambda msg, **kw: logged.append(msg))
    source = _trained(16, 5)  # 20 keys: the queue is full, pointer at 4
    old_k, old_y = _chronological(source)
    model = build_moco(queue_len=new_len, queue_mode='full', seed=1)
    load_state_dict(model, source.state_dict(), strict=True)
    assert (model._filled, model._ptr) == (kept, 4 if new_len == 16 else kept % new_len)
    assert (int(model.queue_filled), int(model.queue_ptr)) == (model._filled, model._ptr)
    got_k, got_y = _chronological(model)
    torch.testing.assert_close(got_k, old_k[-kept:])
    torch.testing.assert_close(got_y, old_y[-kept:])
    if new_len == 16:
        assert logged == []
    else:
        assert logged == [f'MultiLabelMoCo: queue_len changed from 16 (checkpoint) to '
                          f'{new_len}: the queue was remapped in order, keeping the {kept} '
                          f'most recent of its 16 written keys (now {kept}/{new_len} filled)']
    if new_len <= 16:
        # the same state as a queue of new_len that saw all 20 keys: identical next steps
        straight = _trained(new_len, 5)
        for step in (5, 6):
            a = model.loss(*make_batch(step, 4))
            b = straight.loss(*make_batch(step, 4))
            torch.testing.assert_close(a['loss'], b['loss'])
            assert float(a['queue_used']) == float(b['queue_used']) == new_len
    else:
        # a longer queue is not full yet: 'full' mode does not read the unwritten entries
        assert float(model.loss(*make_batch(5, 4))['queue_used']) == 0.0


# The state-dict entries of a MultiLabelMoCo checkpoint written before the queue became a
# LabelMemoryBank component (the queue buffers then belonged to the algorithm itself).
PREVIOUS_LAYOUT = ('queue', 'queue_labels', 'queue_ptr', 'queue_filled', 'backbone.conv.weight',
                   'backbone.conv.bias', 'neck.fc.weight', 'neck.fc.bias', 'encoder_k.steps',
                   'encoder_k.module.0.conv.weight', 'encoder_k.module.0.conv.bias',
                   'encoder_k.module.1.fc.weight', 'encoder_k.module.1.fc.bias')


def test_checkpoint_layout_of_the_previous_version_loads_and_is_kept():
    """The queue is a LabelMemoryBank child now, but checkpoints keep the entries `queue`,
    `queue_labels`, `queue_ptr`, `queue_filled` at the top level: a state dict laid out as
    the previous code wrote it loads strictly (torch and mmengine loaders) and continues the
    run exactly, and new checkpoints have the same layout."""
    from mmengine.runner.checkpoint import load_state_dict

    model = _trained(12, 4, mode='always')
    assert set(model.state_dict()) == set(PREVIOUS_LAYOUT)
    # written by hand from the tensors, not through the model's state_dict hooks
    tensors = {'queue': model.label_queue.keys, 'queue_labels': model.label_queue.labels,
               'queue_ptr': model.label_queue.ptr, 'queue_filled': model.label_queue.filled}
    for prefix, module in (('backbone.', model.backbone), ('neck.', model.neck),
                           ('encoder_k.', model.encoder_k)):
        for name, value in list(module.named_parameters()) + list(module.named_buffers()):
            tensors[prefix + name] = value
    old = {name: tensors[name].detach().clone() for name in PREVIOUS_LAYOUT}
    for load in (lambda m, sd: m.load_state_dict(sd, strict=True),
                 lambda m, sd: load_state_dict(m, sd, strict=True)):
        fresh = build_moco(queue_len=12, queue_mode='always', seed=1)
        load(fresh, old)
        assert (fresh._ptr, fresh._filled) == (model._ptr, model._filled) == (4, 12)
        reference = copy.deepcopy(model)
        for step in (4, 5):
            a = fresh.loss(*make_batch(step, 4))
            b = reference.loss(*make_batch(step, 4))
            torch.testing.assert_close(a['loss'], b['loss'])
        torch.testing.assert_close(fresh.queue, reference.queue)
    assert set(old) == set(fresh.state_dict())


@pytest.mark.parametrize(('kwargs', 'match'), [
    (dict(feat_dim=6), r'checkpoint entry queue holds keys of shape \(16, 5\) but the queue '
                       r'of this model is \(16, 6\): feat_dim changed'),
    (dict(num_classes=5), r'checkpoint entry queue_labels has shape \(16, 4\) but this model '
                          r'stores labels of shape \(16, 5\) \(num_classes changed\)'),
])
def test_finding4_resume_other_widths_raises(kwargs, match):
    """Finding 4: keys of another width or labels of another class count cannot be mapped:
    the error names the entry, both shapes, the option and how to proceed."""
    source = _trained(16, 2)
    cfg = dict(num_classes=4, feat_dim=5)
    cfg.update(kwargs)
    model = MultiLabelMoCo(backbone=TinyBackbone(), neck=TinyNeck(dim=cfg['feat_dim']),
                           head=dict(type='MulSupConHead'), queue_len=16, **cfg)
    with pytest.raises(ValueError, match=match) as err:
        model.load_state_dict(source.state_dict(), strict=False)
    assert 'delete the entries queue, queue_labels, queue_ptr, queue_filled' in str(err.value)


def test_finding4_corrupt_queue_counters_raise():
    source = _trained(16, 2)  # 8 keys: pointer = fill count = 8
    state = source.state_dict()
    state['queue_ptr'] = torch.tensor(3)
    with pytest.raises(ValueError, match=r'queue_ptr=3 and queue_filled=8 do not describe a '
                                         r'queue of 16 entries'):
        build_moco(queue_len=16).load_state_dict(state)


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_finding3_nonfinite_key_is_never_enqueued(bad):
    """Finding 3: one NaN / inf key used to be written into the queue and poison every later
    loss; now the step raises before the queue, its labels or its counters change."""
    model = _trained(16, 2, mode='always')
    before = {k: v.clone() for k, v in model.state_dict().items() if k.startswith('queue')}
    views, samples = make_batch(2, 4)
    views[1][2] = bad  # the key view of sample 2
    with pytest.raises(FloatingPointError, match=r'MultiLabelMoCo: 1 of the 4 keys of this step '
                                                 r'are NaN or infinite \(sample 2\); they were '
                                                 r'NOT enqueued'):
        model.loss(views, samples)
    for name, value in before.items():
        assert torch.equal(model.state_dict()[name], value), name
    assert (model._ptr, model._filled) == (8, 8)
    # the run can continue from here (e.g. after a resume) with a clean queue
    out = model.loss(*make_batch(3, 4))
    assert torch.isfinite(out['loss'])


def test_finding5_soft_labels_from_mixup_are_rejected():
    """Finding 5: soft gt_score (here mmpretrain's own Mixup of two multi-hot rows) used to be
    stored in the uint8 label queue as 0; now it is rejected with the values and the sample,
    before anything is enqueued."""
    from mmpretrain.models.utils.batch_augments import Mixup

    model = _trained(16, 1, mode='always')
    before = model.queue_labels.clone()
    views, samples = make_batch(1, 4)
    hard = torch.zeros(4, 4)
    for i, s in enumerate(samples):
        hard[i, s.gt_label] = 1
    torch.manual_seed(3)
    _, soft = Mixup(alpha=1.0)(views[0], hard)
    assert ((soft > 0) & (soft < 1)).any()  # the real batch augment made soft targets
    scored = [DataSample().set_gt_score(row) for row in soft]
    with pytest.raises(ValueError, match=r'MultiLabelMoCo: the label queue stores binary '
                                         r'multi-hot labels \(0/1\), but sample \d.* non-binary '
                                         r'label values, e\.g\. \[0\.\d+'):
        model.loss(views, scored)
    assert torch.equal(model.queue_labels, before)
    assert (model._ptr, model._filled) == (4, 4)


def test_finding5_label_smoothing_values_are_named():
    """Finding 5: label-smoothed targets (0.05 / 0.95) name their values and classes."""
    model = build_moco(queue_len=16)
    views, samples = make_batch(0, 4)
    smooth = torch.full((4, 4), 0.05)
    smooth[:, 1] = 0.95
    with pytest.raises(ValueError, match=r'sample 0, sample 1, sample 2, sample 3 of this step '
                                         r'have non-binary label values, e\.g\. \[0\.05, '
                                         r'0\.95\] for classes \[0, 1, 2, 3\] of sample 0'):
        model.loss(views, [DataSample().set_gt_score(row) for row in smooth])
    assert model._filled == 0


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


@pytest.mark.parametrize('sparse_labels', [False, True])
def test_label_sums_path_equals_dense_labels_over_wraps_and_a_resume(sparse_labels):
    # MulSupConHead takes the per-class key sums the queue maintains; a head forced onto the
    # K x C label path must see the same losses and gradients, step after step, across queue
    # wrap-arounds and a state-dict round trip.
    from mlcl_plugin.models.heads import MulSupConHead

    class DenseHead(MulSupConHead):
        uses_label_sums = False

    torch.manual_seed(0)
    summed = build_moco(queue_len=10, queue_mode='always')
    summed.label_sums_min_entries = 0  # the sums path even for this tiny queue
    # the batch's labels as sparse COO (the form for many classes) or dense
    summed.sparse_labels_min_classes = 0 if sparse_labels else 1 << 40
    dense = copy.deepcopy(summed)
    dense.head = DenseHead(temperature=summed.head.loss_module.temperature)
    assert summed.head.uses_label_sums
    assert not dense.head.uses_label_sums
    for step in range(7):
        if step == 4:
            state = copy.deepcopy(summed.state_dict())
            summed = build_moco(queue_len=10, queue_mode='always')
            summed.label_sums_min_entries = 0
            summed.sparse_labels_min_classes = 0 if sparse_labels else 1 << 40
            summed.load_state_dict(state)
        views, samples = make_batch(step, 4)
        out_s, out_d = summed.loss(views, samples), dense.loss(views, samples)
        torch.testing.assert_close(out_s['loss'], out_d['loss'], atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(out_s['keys_per_label'], out_d['keys_per_label'])
        assert summed.label_queue._sums_ready  # the sums path ran and maintains its sums
        assert not dense.label_queue._sums_ready
        summed.zero_grad()
        dense.zero_grad()
        out_s['loss'].backward()
        out_d['loss'].backward()
        for (name, a), b in zip(summed.named_parameters(), dense.parameters()):
            if a.grad is not None:
                torch.testing.assert_close(a.grad, b.grad, atol=1e-6, rtol=1e-5, msg=name)


def test_label_sums_are_used_from_a_large_enough_queue():
    small = build_moco(queue_len=8)
    small.loss(*make_batch(0, 4))
    assert not small.label_queue._sums_ready  # tiny K x C: the dense labels are cheaper
    large = build_moco(queue_len=small.label_sums_min_entries // 4)  # C = 4
    large.loss(*make_batch(0, 4))
    assert large.label_queue._sums_ready


def test_label_sums_path_hands_sparse_labels_on_cpu():
    # With the queue's per-class sums and enough classes, the batch's labels reach the queue
    # and the head as sparse COO (read through their stored entries); with fewer classes or
    # without the sums they stay dense.
    seen = []

    def spy(model):
        loss = model.head.loss

        def wrapped(query, keys, query_labels, key_labels, **kwargs):
            seen.append(query_labels.is_sparse)
            return loss(query, keys, query_labels, key_labels, **kwargs)
        model.head.loss = wrapped

    torch.manual_seed(0)
    models = [build_moco(queue_len=10, queue_mode='always') for _ in range(3)]
    models[0].label_sums_min_entries = models[1].label_sums_min_entries = 0
    models[0].sparse_labels_min_classes = models[0].num_classes
    models[1].sparse_labels_min_classes = models[1].num_classes + 1
    models[2].label_sums_min_entries = 1 << 40
    models[2].sparse_labels_min_classes = 0
    for model in models:
        spy(model)
        views, samples = make_batch(0, 4)
        model.loss(views, samples)
    assert seen == [True, False, False]
