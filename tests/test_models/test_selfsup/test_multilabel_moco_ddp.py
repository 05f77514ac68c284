# Copyright (c) mlcl_plugin authors. All rights reserved.
"""DDP: 2 gloo processes on CPU give the same loss, gradients and queue as one process on the
concatenated batch (keys and labels gathered before the loss and the enqueue)."""
import os.path as osp

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tests.test_models.test_selfsup.moco_fixtures import build_moco, make_batch

STEPS = 3
LOCAL_BATCH = 4


def _run(model, views, samples):
    """One step: loss, backward, SGD; returns (loss, grads, queue, queue_labels)."""
    out = model.loss(views, samples)
    model.zero_grad()
    out['loss'].backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()
             if p.grad is not None}
    if dist.is_initialized():
        for g in grads.values():  # what DDP does: average over ranks
            dist.all_reduce(g)
            g /= dist.get_world_size()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n in grads:
                p -= 0.5 * grads[n]
    return (out['loss'].detach(), grads, model.queue.clone(), model.queue_labels.clone())


def _build(head, sums):
    model = build_moco(queue_len=16, queue_mode='always', **head)
    if sums:  # the head gets per-class key sums from the queue even at this tiny size
        model.label_sums_min_entries = 0
    if sums == 'sparse':  # and the batch's labels as sparse COO (gathered dense across ranks)
        model.sparse_labels_min_classes = 0
    return model


def _worker(rank, world, init_file, out_dir, head, sums):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    try:
        model = _build(head, sums)
        results = []
        for step in range(STEPS):
            views, samples = make_batch(step, LOCAL_BATCH * world)
            part = slice(rank * LOCAL_BATCH, (rank + 1) * LOCAL_BATCH)
            results.append(_run(model, [v[part] for v in views], samples[part]))
        torch.save(results, osp.join(out_dir, f'rank{rank}.pth'))
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize(('head', 'sums'), [(dict(), False), (dict(), True), (dict(), 'sparse'),
                                            (dict(positives='any', weighting='per_sample'),
                                             False)])
def test_two_gloo_processes_equal_one_process(tmp_path, head, sums):
    world = 2
    mp.spawn(_worker, args=(world, str(tmp_path / 'init'), str(tmp_path), head, sums),
             nprocs=world, join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pth', weights_only=False) for r in range(world)]

    single = _build(head, sums)
    for step in range(STEPS):
        loss, grads, queue, queue_labels = _run(single, *make_batch(step, LOCAL_BATCH * world))
        # DDP reports per-rank losses; their mean is the loss of the concatenated batch
        mean_loss = torch.stack([r[step][0] for r in ranks]).mean()
        torch.testing.assert_close(mean_loss, loss, rtol=1e-5, atol=1e-6)
        for r in ranks:
            assert r[step][1].keys() == grads.keys()
            for name in grads:
                torch.testing.assert_close(r[step][1][name], grads[name], rtol=1e-4,
                                           atol=1e-6, msg=f'{step} {name}')
            torch.testing.assert_close(r[step][2], queue)
            torch.testing.assert_close(r[step][3], queue_labels)


def _in_batch_data(world):
    g = torch.Generator().manual_seed(7)
    x_q, x_k = torch.randn(2, LOCAL_BATCH * world, 6, generator=g)
    labels = (torch.rand(LOCAL_BATCH * world, 3, generator=g) < 0.5).float()
    return x_q, x_k, labels


def _in_batch_step(x_q, x_k, labels):
    """Keys from the trained encoder itself: they receive gradient through the gather, which
    the caller does (the head contract: heads get gathered keys, never gather themselves)."""
    from mlcl_plugin.models import MulSupConHead
    from mlcl_plugin.models.utils import gather_no_grad, gather_with_grad

    torch.manual_seed(0)
    encoder = torch.nn.Linear(6, 5)
    q = torch.nn.functional.normalize(encoder(x_q), dim=1)
    k = torch.nn.functional.normalize(encoder(x_k), dim=1)
    keys, key_labels = gather_with_grad(k), gather_no_grad(labels)  # G*B rows, rank order
    loss = MulSupConHead(temperature=0.2).loss(q, keys, labels, key_labels)['loss']
    loss.backward()
    grad = encoder.weight.grad.clone()
    if dist.is_initialized():
        dist.all_reduce(grad)
        grad /= dist.get_world_size()
    return loss.detach(), grad


def _in_batch_worker(rank, world, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    try:
        x_q, x_k, labels = _in_batch_data(world)
        part = slice(rank * LOCAL_BATCH, (rank + 1) * LOCAL_BATCH)
        torch.save(_in_batch_step(x_q[part], x_k[part], labels[part]),
                   osp.join(out_dir, f'inbatch{rank}.pth'))
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_in_batch_keys_gathered_with_gradient_by_the_caller(tmp_path):
    world = 2
    mp.spawn(_in_batch_worker, args=(world, str(tmp_path / 'init'), str(tmp_path)),
             nprocs=world, join=True)
    ranks = [torch.load(tmp_path / f'inbatch{r}.pth') for r in range(world)]
    loss, grad = _in_batch_step(*_in_batch_data(world))
    torch.testing.assert_close(torch.stack([r[0] for r in ranks]).mean(), loss)
    for r in ranks:
        torch.testing.assert_close(r[1], grad, rtol=1e-4, atol=1e-6)


def _resume_worker(rank, world, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    try:
        model = build_moco(queue_len=16, queue_mode='always', seed=1)
        model.load_state_dict(torch.load(osp.join(out_dir, 'single.pth')))
        results = []
        for step in (3, 4):
            views, samples = make_batch(step, LOCAL_BATCH * world)
            part = slice(rank * LOCAL_BATCH, (rank + 1) * LOCAL_BATCH)
            results.append(_run(model, [v[part] for v in views], samples[part]))
        torch.save(results, osp.join(out_dir, f'resumed{rank}.pth'))
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_finding4_resume_one_process_checkpoint_with_two_processes(tmp_path):
    """Finding 4: a 1-process checkpoint (pointer 12 of 16) resumed by 2 processes: the global
    batch of 8 used to crash the slice write ('expanded size ... must match'). The ring buffer
    wraps around, so 2 gloo processes continue exactly like one process on the concatenated
    batch from the same checkpoint (loss, gradients, queue, labels)."""
    single = build_moco(queue_len=16, queue_mode='always')
    for step in range(3):
        _run(single, *make_batch(step, LOCAL_BATCH))
    assert (single._ptr, single._filled) == (12, 12)
    torch.save(single.state_dict(), tmp_path / 'single.pth')
    world = 2
    mp.spawn(_resume_worker, args=(world, str(tmp_path / 'init'), str(tmp_path)),
             nprocs=world, join=True)
    ranks = [torch.load(tmp_path / f'resumed{r}.pth', weights_only=False) for r in range(world)]
    for i, step in enumerate((3, 4)):
        loss, grads, queue, queue_labels = _run(single, *make_batch(step, LOCAL_BATCH * world))
        torch.testing.assert_close(torch.stack([r[i][0] for r in ranks]).mean(), loss,
                                   rtol=1e-5, atol=1e-6)
        for r in ranks:
            for name in grads:
                torch.testing.assert_close(r[i][1][name], grads[name], rtol=1e-4, atol=1e-6)
            torch.testing.assert_close(r[i][2], queue)
            torch.testing.assert_close(r[i][3], queue_labels)
    assert (single._ptr, single._filled) == ((12 + 16) % 16, 16)
