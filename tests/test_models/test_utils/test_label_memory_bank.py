# Copyright (c) mlcl_plugin authors. All rights reserved.
"""LabelMemoryBank: a plain-list reference queue, MultiLabelMoCo's own reference set, state
dicts (also under an owner's names), id labels, the three modes, errors, and 2 gloo processes
equal to one process (keys with gradient, labels)."""
import copy
import os.path as osp
import pickle

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from mlcl_plugin.models import MulSupConLoss, MultiLabelMoCo
from mlcl_plugin.models.utils import LabelMemoryBank, global_mean_factor
from tests.test_models.test_selfsup.moco_fixtures import TinyBackbone, TinyNeck, make_batch


def _batches(steps, batch, dim=4, num_classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(F.normalize(torch.randn(batch, dim, generator=g), dim=1),
             (torch.rand(batch, num_classes, generator=g) < 0.5).float())
            for _ in range(steps)]


class ListQueue:
    """Reference: a Python list of (key, label) rows written one by one at a wrapping pointer."""

    def __init__(self, cap, mode):
        self.rows, self.cap, self.mode, self.ptr, self.written = [None] * cap, cap, mode, 0, 0

    def step(self, keys, labels):
        full = self.written >= self.cap
        valid = self.cap if full else (0 if self.mode == 'full' else self.written)
        ref_k = list(keys) + [self.rows[i][0] for i in range(valid)]
        ref_y = list(labels) + [self.rows[i][1] for i in range(valid)]
        for k, y in zip(keys, labels):
            self.rows[self.ptr] = (k.clone(), y.clone())
            self.ptr = (self.ptr + 1) % self.cap
            self.written += 1
        return torch.stack(ref_k), torch.stack(ref_y)


@pytest.mark.parametrize('mode', ['full', 'always'])
@pytest.mark.parametrize(('cap', 'batch'), [(12, 4), (10, 4), (3, 4)])
def test_matches_a_plain_list_queue(mode, cap, batch):
    bank = LabelMemoryBank(size=(cap, 4), num_classes=3, mode=mode)
    ref = ListQueue(cap, mode)
    for keys, labels in _batches(6, batch):
        out_k, out_y = bank(keys, labels)
        exp_k, exp_y = ref.step(keys, labels)
        torch.testing.assert_close(out_k, exp_k)
        torch.testing.assert_close(out_y, exp_y)
        assert out_y.dtype == labels.dtype
    stored = [r for r in ref.rows if r is not None]
    torch.testing.assert_close(bank.keys[:len(stored)], torch.stack([r[0] for r in stored]))
    torch.testing.assert_close(bank.labels[:len(stored)].float(),
                               torch.stack([r[1] for r in stored]))
    assert bank.num_valid == cap


def test_update_false_leaves_the_bank_alone():
    bank = LabelMemoryBank(size=(8, 4), num_classes=3, mode='always')
    (k0, y0), (k1, y1) = _batches(2, 4)
    bank(k0, y0)
    before = bank.state_dict()
    out_k, _ = bank(k1, y1, update=False)
    assert out_k.shape == (8, 4)
    for name, value in bank.state_dict().items():
        torch.testing.assert_close(value, before[name])


class RecordingHead(nn.Module):
    """Keeps what MultiLabelMoCo passes to its head; returns a loss with a graph."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def loss(self, query, keys, query_labels, key_labels, pair_index=None, self_index=None):
        self.calls.append((keys.clone(), key_labels.clone(), pair_index.clone()))
        return dict(loss=query.sum() * 0)


@pytest.mark.parametrize('mode', ['full', 'always'])
def test_same_reference_set_as_multilabel_moco(mode):
    torch.manual_seed(0)
    head = RecordingHead()
    model = MultiLabelMoCo(backbone=TinyBackbone(), neck=TinyNeck(), head=head, num_classes=4,
                           queue_len=8, feat_dim=5, momentum=0.1, queue_mode=mode)
    bank = LabelMemoryBank(size=(8, 5), num_classes=4, mode=mode)
    for step in range(5):
        model.loss(*make_batch(step, 4))
        keys, labels, pair_index = head.calls[-1]
        assert pair_index.tolist() == [0, 1, 2, 3]  # the step's own keys come first
        ref_k, ref_y = bank(keys[:4], labels[:4])
        torch.testing.assert_close(ref_k, keys)
        torch.testing.assert_close(ref_y, labels)
    torch.testing.assert_close(bank.keys, model.queue)
    torch.testing.assert_close(bank.labels, model.queue_labels)


@pytest.mark.parametrize('mode', ['full', 'always', 'every_slot'])
def test_id_labels_and_modes(mode):
    """num_classes=None queues one integer id per key (-1 = never written); 'every_slot'
    returns every slot from the first step (Lightly's memory bank), random keys included."""
    bank = LabelMemoryBank(size=(6, 4), num_classes=None, mode=mode)
    initial = bank.keys.clone()
    assert bank.labels.dtype == torch.long
    assert bank.labels.tolist() == [-1] * 6
    seen = []
    for step, (keys, _) in enumerate(_batches(3, 4)):
        ids = torch.arange(4 * step, 4 * step + 4)
        expected_valid = {'full': 6 if step >= 2 else 0, 'always': min(4 * step, 6),
                          'every_slot': 6}[mode]
        assert bank.num_valid == expected_valid
        before_k, before_y = bank.entries()
        ref_k, ref_y = bank(keys, ids)
        torch.testing.assert_close(ref_k, torch.cat([keys, before_k]))
        assert ref_y.tolist() == ids.tolist() + before_y.tolist()
        seen.append(ids)
        if mode == 'every_slot' and step == 0:
            torch.testing.assert_close(before_k, initial)  # the random initial vectors
            assert before_y.tolist() == [-1] * 6
    # 12 ids into 6 slots: the newest 6 in ring order, pointer at 0
    assert bank.labels.tolist() == torch.cat(seen)[-6:].tolist()
    with pytest.raises(ValueError, match='integer ids'):
        bank(torch.randn(2, 4), torch.zeros(2, 3))
    with pytest.raises(ValueError, match='num_classes must be a positive int'):
        LabelMemoryBank(size=(6, 4), num_classes=0)


def test_entries_are_copies():
    bank = LabelMemoryBank(size=(4, 4), num_classes=3, mode='always')
    keys, labels = _batches(1, 4)[0]
    bank(keys, labels)
    got_k, got_y = bank.entries()
    bank(*_batches(1, 4, seed=1)[0])
    torch.testing.assert_close(got_k, keys)
    torch.testing.assert_close(got_y.float(), labels)


class Owner(nn.Module):
    """An algorithm-like owner that saves its bank under its own names."""

    def __init__(self, size=(8, 4)):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.bank = LabelMemoryBank(size=size, num_classes=3, mode='always', name='Owner',
                                    options=('queue_len', 'feat_dim', 'num_classes'))
        self.bank.save_under_owner_names(self, ('q', 'q_labels', 'q_ptr', 'q_filled'))


def test_state_saved_under_the_owner_names():
    owner = Owner()
    for keys, labels in _batches(3, 4):
        owner.bank(keys, labels)
    state = owner.state_dict()
    assert set(state) == {'fc.weight', 'fc.bias', 'q', 'q_labels', 'q_ptr', 'q_filled'}
    # nested in a wrapper (DDP's `module.` prefix) the names keep the wrapper's prefix
    assert set(nn.Sequential(owner).state_dict()) == {f'0.{k}' for k in state}
    fresh = Owner()
    fresh.load_state_dict(state, strict=True)
    assert (fresh.bank._ptr, fresh.bank._filled) == (owner.bank._ptr, owner.bank._filled)
    torch.testing.assert_close(fresh.bank.keys, owner.bank.keys)
    # the bank's own names load too (a state dict of the component itself)
    other = Owner()
    other.load_state_dict({**{f'bank.{k}': v for k, v in owner.bank.state_dict().items()},
                           'fc.weight': state['fc.weight'], 'fc.bias': state['fc.bias']})
    torch.testing.assert_close(other.bank.keys, owner.bank.keys)
    # checks and messages use the owner's names
    with pytest.raises(ValueError, match=r'Owner: checkpoint entry q holds keys of shape '
                                         r'\(8, 4\) but the queue of this model is \(8, 5\): '
                                         r'feat_dim changed'):
        Owner(size=(8, 5)).load_state_dict(state)
    bad = dict(state, q_filled=torch.tensor(5))  # not full, but the pointer is not at 5
    with pytest.raises(ValueError, match='q_ptr=4 and q_filled=5'):
        Owner().load_state_dict(bad)
    # hooks survive deepcopy and pickling, and act on the copy
    for clone in (copy.deepcopy(owner), pickle.loads(pickle.dumps(owner))):
        assert set(clone.state_dict()) == set(state)
        clone.bank(*_batches(1, 4, seed=5)[0])
        assert int(clone.state_dict()['q_filled']) == 8
        assert clone.bank._ptr != owner.bank._ptr


def test_batch_keys_keep_their_gradient_and_the_bank_stores_detached():
    bank = LabelMemoryBank(size=(8, 4), num_classes=3, mode='always')
    loss_fn = MulSupConLoss(temperature=0.2)
    for keys, labels in _batches(3, 4):
        keys = keys.clone().requires_grad_()
        ref_k, ref_y = bank(keys, labels)
        loss_fn(keys.detach(), ref_k, labels, ref_y).backward()
        assert keys.grad is not None
        assert keys.grad.abs().sum() > 0
    assert not bank.keys.requires_grad


def test_state_dict_round_trip_continues_exactly():
    batches = _batches(5, 4)
    bank = LabelMemoryBank(size=(12, 4), num_classes=3, mode='full')
    for keys, labels in batches[:3]:
        bank(keys, labels)
    clone = LabelMemoryBank(size=(12, 4), num_classes=3, mode='full')
    clone.load_state_dict(bank.state_dict())
    assert clone.num_valid == bank.num_valid == 12
    for keys, labels in batches[3:]:
        for a, b in zip(bank(keys, labels), clone(keys, labels)):
            torch.testing.assert_close(a, b)
    assert int(clone.ptr) == int(bank.ptr) == 20 % 12


def test_errors_name_the_field():
    with pytest.raises(ValueError, match='size must be'):
        LabelMemoryBank(size=128, num_classes=3)
    with pytest.raises(ValueError, match='size must be'):
        LabelMemoryBank(size=(0, 4), num_classes=3)
    with pytest.raises(ValueError, match='num_classes'):
        LabelMemoryBank(size=(8, 4), num_classes=0)
    with pytest.raises(ValueError, match='mode must be one of'):
        LabelMemoryBank(size=(8, 4), num_classes=3, mode='sometimes')
    bank = LabelMemoryBank(size=(8, 4), num_classes=3)
    with pytest.raises(ValueError, match='keys must be B x 4'):
        bank(torch.randn(2, 5), torch.zeros(2, 3))
    with pytest.raises(ValueError, match='labels must be B x C = 2 x 3'):
        bank(torch.randn(2, 4), torch.zeros(2, 4))


@pytest.mark.parametrize('bad', [float('nan'), float('-inf')])
def test_finding3_bank_refuses_nonfinite_keys(bad):
    """Finding 3: a non-finite key raises before anything is written (bank state unchanged)."""
    bank = LabelMemoryBank(size=(8, 4), num_classes=3, mode='always')
    (k0, y0), (k1, y1) = _batches(2, 4)
    bank(k0, y0)
    before = {k: v.clone() for k, v in bank.state_dict().items()}
    k1 = k1.clone()
    k1[3, 0] = bad
    with pytest.raises(FloatingPointError, match=r'LabelMemoryBank: 1 of the 4 keys of this step '
                                                 r'are NaN or infinite \(sample 3\)'):
        bank(k1, y1)
    for name, value in bank.state_dict().items():
        assert torch.equal(value, before[name]), name
    assert (bank._ptr, bank._filled) == (4, 4)


def test_finding5_bank_refuses_soft_labels():
    """Finding 5: a soft label (0.9) used to be stored as 0 in the uint8 label buffer; it is
    rejected with its value, class and sample, and nothing is written."""
    bank = LabelMemoryBank(size=(8, 4), num_classes=3, mode='always')
    keys, labels = _batches(1, 4)[0]
    soft = labels.clone()
    soft[2] = torch.tensor([0.9, 0.0, 1.0])
    with pytest.raises(ValueError, match=r'LabelMemoryBank: the label queue stores binary '
                                         r'multi-hot labels \(0/1\), but sample 2 of this step '
                                         r'has non-binary label values, e\.g\. \[0\.9\] for '
                                         r'classes \[0\] of sample 2'):
        bank(keys, soft)
    assert bank._filled == 0
    assert int(bank.labels.sum()) == 0
    bank(keys, labels.bool())  # binary labels of any dtype are fine
    bank(keys, labels.to(torch.uint8))
    assert bank._filled == 8


def _sorted_rows(keys, labels):
    order = torch.argsort(keys[:, 0])  # random float keys: distinct first coordinates
    return torch.cat([keys, labels], dim=1)[order]


def _remapped(state, size):
    bank = LabelMemoryBank(size=size, num_classes=3, mode='always')
    bank.load_state_dict(state)
    return bank


def test_finding4_bank_state_of_another_size_is_remapped():
    """Finding 4: a state dict saved with K=12 (20 keys written) loaded into K=8 holds the
    newest 8 keys in order, exactly like a K=8 bank that saw all 20 keys; into K=16 it holds
    the 12 it had, like a K=16 bank that saw only those 12 (no never-written entry is read)."""
    batches = _batches(8, 4)
    bank = LabelMemoryBank(size=(12, 4), num_classes=3, mode='always')
    for keys, labels in batches[:5]:
        bank(keys, labels)
    state = bank.state_dict()

    smaller = _remapped(state, (8, 4))
    reference = ListQueue(8, 'always')
    for keys, labels in batches[:5]:
        reference.step(keys, labels)
    larger = _remapped(state, (16, 4))
    reference_large = ListQueue(16, 'always')
    all_keys = torch.cat([k for k, _ in batches[:5]])[-12:]
    all_labels = torch.cat([y for _, y in batches[:5]])[-12:]
    reference_large.step(all_keys, all_labels)
    assert (smaller._ptr, smaller._filled, larger._ptr, larger._filled) == (0, 8, 12, 12)
    for keys, labels in batches[5:]:
        for bank_, ref in ((smaller, reference), (larger, reference_large)):
            out_k, out_y = bank_(keys, labels)
            exp_k, exp_y = ref.step(keys, labels)
            # the remapped bank starts its ring at slot 0, the reference elsewhere: the same
            # reference set, batch first, with the bank entries in another slot order
            torch.testing.assert_close(out_k[:4], exp_k[:4])
            torch.testing.assert_close(_sorted_rows(out_k, out_y), _sorted_rows(exp_k, exp_y))
    with pytest.raises(ValueError, match=r'LabelMemoryBank: checkpoint entry labels has shape '
                                         r'\(12, 3\) but this model stores labels of shape '
                                         r'\(12, 5\) \(num_classes changed\)'):
        LabelMemoryBank(size=(12, 4), num_classes=5).load_state_dict(state)
    with pytest.raises(ValueError, match=r'checkpoint entry keys holds keys of shape \(12, 4\) '
                                         r'but the queue of this model is \(12, 6\): size\[1\] '
                                         r'changed'):
        LabelMemoryBank(size=(12, 6), num_classes=3).load_state_dict(state)


# --------------------------------------------------------------------------------------------
# DDP: 2 gloo processes equal one process on the concatenated batch

STEPS, LOCAL, WORLD = 4, 3, 2


def _ddp_data():
    g = torch.Generator().manual_seed(11)
    return [(torch.randn(2, LOCAL * WORLD, 6, generator=g),
             torch.rand(LOCAL * WORLD, 3, generator=g) < 0.5) for _ in range(STEPS)]


def _ddp_steps(rank=0, world=1):
    """SimCLR-style: both views from one trained encoder; keys gathered with gradient."""
    torch.manual_seed(0)
    encoder = nn.Linear(6, 4)
    bank = LabelMemoryBank(size=(10, 4), num_classes=3, mode='always')
    loss_fn = MulSupConLoss(temperature=0.2)
    out = []
    for x, labels in _ddp_data():
        part = slice(rank * LOCAL, (rank + 1) * LOCAL) if world > 1 else slice(None)
        x, labels = x[:, part], labels[part]
        q = F.normalize(encoder(x[0]), dim=1)
        k = F.normalize(encoder(x[1]), dim=1)
        ref_k, ref_y = bank(k, labels)
        total, count = loss_fn.loss_terms(q, ref_k, labels, ref_y)
        loss = total / global_mean_factor(count)
        encoder.zero_grad()
        loss.backward()
        grad = encoder.weight.grad.clone()
        if world > 1:  # what DDP does with the parameter gradients
            dist.all_reduce(grad)
            grad /= world
        out.append((loss.detach(), grad, ref_k.detach(), ref_y, bank.keys.clone(),
                    bank.labels.clone()))
        with torch.no_grad():
            encoder.weight -= 0.5 * grad
    return out


def _ddp_worker(rank, world, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    try:
        torch.save(_ddp_steps(rank, world), osp.join(out_dir, f'rank{rank}.pth'))
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_equal_one_process(tmp_path):
    mp.spawn(_ddp_worker, args=(WORLD, str(tmp_path / 'init'), str(tmp_path)), nprocs=WORLD,
             join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pth') for r in range(WORLD)]
    single = _ddp_steps()
    for step, (loss, grad, ref_k, ref_y, keys, labels) in enumerate(single):
        torch.testing.assert_close(torch.stack([r[step][0] for r in ranks]).mean(), loss)
        for r in ranks:
            torch.testing.assert_close(r[step][1], grad, rtol=1e-4, atol=1e-6)
            torch.testing.assert_close(r[step][2], ref_k)  # same reference set on every rank
            assert torch.equal(r[step][3], ref_y)
            torch.testing.assert_close(r[step][4], keys)  # same bank on every rank
            assert torch.equal(r[step][5], labels)
    assert int(single[-1][3].shape[0]) == LOCAL * WORLD + 10  # the bank was full and wrapped


def _written_sums(keys, labels):
    """Per-class sums and counts written out: one class at a time."""
    sums = torch.stack([keys[labels[:, j] > 0].sum(0) for j in range(labels.shape[1])])
    return sums, (labels > 0).float().sum(0)


@pytest.mark.parametrize('mode', ['full', 'always', 'every_slot'])
@pytest.mark.parametrize(('cap', 'batch'), [(12, 4), (10, 4), (3, 4)])
def test_label_sums_match_the_dense_reference_set(mode, cap, batch):
    # as_sums gives the per-class sums of exactly the keys of the dense reference set, while
    # the bank maintains its part across wrap-arounds (N > K included), a reload and a
    # step without update.
    dense = LabelMemoryBank(size=(cap, 4), num_classes=3, mode=mode)
    summed = LabelMemoryBank(size=(cap, 4), num_classes=3, mode=mode)
    summed.load_state_dict(dense.state_dict())  # same random initial keys ('every_slot')
    for step, (keys, labels) in enumerate(_batches(9, batch, seed=3)):
        if step == 5:  # a resume: the maintained sums are rebuilt from the loaded queue
            state = copy.deepcopy(summed.state_dict())
            assert 'class_sums' not in state
            assert 'class_counts' not in state
            summed = LabelMemoryBank(size=(cap, 4), num_classes=3, mode=mode)
            summed.load_state_dict(state)
        update = step != 6
        ref_k, ref_y = dense(keys, labels, update=update)
        out_k, out = summed(keys, labels, update=update, as_sums=True)
        torch.testing.assert_close(out_k, ref_k)
        exp_sums, exp_counts = _written_sums(ref_k, ref_y)
        torch.testing.assert_close(out.sums.float(), exp_sums, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(out.counts.float(), exp_counts)
        assert out.sums.dtype == out.counts.dtype == torch.float64
    # the maintained float64 state (read through _queue_sums, which applies a removal the
    # last enqueue deferred) equals a rebuild from the stored queue
    sums, counts = (t.clone() for t in summed._queue_sums())
    summed._sums_ready = False
    torch.testing.assert_close(summed._queue_sums()[0], sums, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(summed._queue_sums()[1], counts)


def test_label_sums_refuse_a_bad_batch_before_it_enters_them():
    # the batch is added to the maintained sums before the enqueue: a NaN key or a soft label
    # must be refused first, or it would stay in the sums of every later step
    dense = LabelMemoryBank(size=(8, 4), num_classes=3)
    summed = LabelMemoryBank(size=(8, 4), num_classes=3)
    batches = _batches(5, 4, seed=7)
    for keys, labels in batches[:3]:
        dense(keys, labels)
        summed(keys, labels, as_sums=True)
    keys, labels = batches[3]
    bad_keys = keys.clone()
    bad_keys[1, 2] = float('nan')
    with pytest.raises(FloatingPointError):
        summed(bad_keys, labels, as_sums=True)
    soft = labels.clone()
    soft[0, 0] = 0.5
    with pytest.raises(ValueError, match='non-binary label values'):
        summed(keys, soft, as_sums=True)
    for keys, labels in batches[3:]:
        ref_k, ref_y = dense(keys, labels)
        _, out = summed(keys, labels, as_sums=True)
        exp_sums, exp_counts = _written_sums(ref_k, ref_y)
        torch.testing.assert_close(out.sums.float(), exp_sums, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(out.counts.float(), exp_counts)


def test_label_sums_keep_the_batch_keys_gradient():
    bank = LabelMemoryBank(size=(6, 4), num_classes=3, mode='always')
    for keys, labels in _batches(2, 4):
        bank(keys, labels)
    keys, labels = _batches(1, 4, seed=5)[0]
    keys.requires_grad_()
    _, out = bank(keys, labels, as_sums=True)
    (out.sums * torch.arange(12.).reshape(3, 4)).sum().backward()
    # d/dk_i of sum_j w_j . m_j = sum of w_j over the labels of key i
    expected = labels @ torch.arange(12.).reshape(3, 4)
    torch.testing.assert_close(keys.grad, expected)


def test_label_sums_need_multi_hot_labels():
    bank = LabelMemoryBank(size=(6, 4), num_classes=None)
    with pytest.raises(ValueError, match='as_sums needs multi-hot labels'):
        bank(torch.randn(2, 4), torch.tensor([0, 1]), as_sums=True)


@pytest.mark.parametrize('mode', ['full', 'always'])
@pytest.mark.parametrize(('cap', 'batch'), [(12, 4), (10, 4), (3, 4)])
@pytest.mark.parametrize('as_sums', [True, False])
def test_sparse_labels_match_dense_labels(mode, cap, batch, as_sums):
    # Sparse COO labels (read through their stored entries with as_sums) give the same
    # reference set, sums and stored queue as the dense labels, across wrap-arounds.
    dense = LabelMemoryBank(size=(cap, 4), num_classes=3, mode=mode)
    sparse = LabelMemoryBank(size=(cap, 4), num_classes=3, mode=mode)
    sparse.load_state_dict(dense.state_dict())  # the same random initial keys
    for step, (keys, labels) in enumerate(_batches(9, batch, seed=11)):
        ref_k, ref_y = dense(keys, labels, as_sums=as_sums)
        # every other step with an explicitly stored 0 (no label)
        sparse_labels = labels.to_sparse()
        if step % 2:
            rows, cols = (labels == 0).nonzero(as_tuple=True)
            sparse_labels = torch.sparse_coo_tensor(
                torch.cat([sparse_labels.indices(), torch.stack([rows[:1], cols[:1]])], 1),
                torch.cat([sparse_labels.values(), torch.zeros(1)]), labels.shape,
                check_invariants=True)
        out_k, out_y = sparse(keys, sparse_labels, as_sums=as_sums)
        torch.testing.assert_close(out_k, ref_k)
        if as_sums:
            torch.testing.assert_close(out_y.sums, ref_y.sums, atol=1e-12, rtol=1e-12)
            torch.testing.assert_close(out_y.counts, ref_y.counts)
        else:
            assert not out_y.is_sparse
            torch.testing.assert_close(out_y, ref_y)
        for name, value in dense.state_dict().items():
            torch.testing.assert_close(sparse.state_dict()[name], value, msg=name)
    # a plain enqueue takes them too
    keys, labels = _batches(1, batch, seed=12)[0]
    dense.enqueue(keys, labels)
    sparse.enqueue(keys, labels.to_sparse())
    torch.testing.assert_close(sparse.labels, dense.labels)


def test_sparse_soft_labels_are_refused_with_the_sample_named():
    bank = LabelMemoryBank(size=(8, 4), num_classes=3)
    keys, labels = _batches(1, 4, seed=2)[0]
    soft = labels.clone()
    soft[2, 1] = 0.7
    for as_sums in (True, False):
        with pytest.raises(ValueError, match=r'sample 2 .*non-binary label values, e.g. '
                                             r'\[0.7\] for classes \[1\]'):
            bank(keys, soft.to_sparse(), as_sums=as_sums)
    assert bank.num_valid == 0  # nothing was written
