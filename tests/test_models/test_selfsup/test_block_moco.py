# Copyright (c) mlcl_plugin authors. All rights reserved.
"""BlockMoCo: the MoCo queue of image ids and the image-aware head on block views."""
import copy
import os.path as osp

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from tests.test_models.test_losses.test_image_aware_loss import reference_loss
from tests.test_models.test_selfsup.block_fixtures import build_block_moco, make_block_batch


def test_step_matches_manual_computation_and_queue_holds_image_ids():
    model = build_block_moco(queue_len=16, queue_mode='always')
    model.loss(*make_block_batch(0, 2))  # 8 keys of images 0, 1 enter the queue
    assert model.queue_labels[:8].tolist() == [0, 1] * 4
    assert int(model.images_seen) == 2

    before = copy.deepcopy(model)
    views, samples = make_block_batch(1, 2)
    out = model.loss(views, samples)
    # manual: momentum update, q from pipeline 0's blocks, k from pipeline 1's (block-major)
    before.encoder_k.update_parameters(torch.nn.Sequential(before.backbone, before.neck))
    q = F.normalize(before.neck(before.backbone(torch.cat(views[:4])))[0], dim=1)
    k = F.normalize(before.encoder_k(torch.cat(views[4:]))[0], dim=1)
    ids = torch.tensor([2, 3] * 4)  # images 2 and 3: never equal to a queue id
    keys = torch.cat([k, before.queue[:8]])
    key_ids = torch.cat([ids, before.queue_labels[:8]])
    expected = reference_loss(q, keys, ids, key_ids, tau=0.2, tau0=0.07)
    torch.testing.assert_close(out['loss'], expected)
    assert out['positives_per_anchor'].item() == 4.0  # the image's 4 key blocks
    assert out['queue_used'].item() == 8.0
    torch.testing.assert_close(model.queue[8:16], k)
    assert model.queue_labels.tolist() == [0, 1] * 4 + [2, 3] * 4
    assert int(model.images_seen) == 4


def test_resume_restores_counters():
    model = build_block_moco(queue_len=16)
    for step in range(3):
        model.loss(*make_block_batch(step, 2))
    fresh = build_block_moco(queue_len=16, seed=1)
    fresh.load_state_dict(model.state_dict())
    assert (fresh._ptr, fresh._filled, fresh._images_seen) == (8, 16, 6)
    a = model.loss(*make_block_batch(3, 2))['loss']
    b = fresh.loss(*make_block_batch(3, 2))['loss']
    torch.testing.assert_close(a, b)


def test_checkpoint_layout_of_the_previous_version_loads():
    """BlockMoCo no longer derives from MultiLabelMoCo, but its checkpoint entries are those
    of the previous version (queue, (K,) image ids in queue_labels, counters, images_seen)."""
    model = build_block_moco(queue_len=12)
    for step in range(2):
        model.loss(*make_block_batch(step, 2))
    state = model.state_dict()
    own = {k for k in state if not k.startswith(('backbone.', 'neck.', 'encoder_k.'))}
    assert own == {'queue', 'queue_labels', 'queue_ptr', 'queue_filled', 'images_seen'}
    assert state['queue_labels'].shape == (12, )
    assert state['queue_labels'].dtype == torch.long
    old = {k: v.clone() for k, v in state.items()}
    fresh = build_block_moco(queue_len=12, seed=1)
    fresh.load_state_dict(old, strict=True)
    assert (fresh._ptr, fresh._filled, fresh._images_seen) == (4, 12, 4)
    torch.testing.assert_close(fresh.loss(*make_block_batch(2, 2))['loss'],
                               model.loss(*make_block_batch(2, 2))['loss'])
    assert not hasattr(fresh, 'num_classes')  # no label classes: the class check stays away


def test_finding4_queue_len_not_a_multiple_of_the_block_batch_is_a_fifo():
    """Finding 4: 8 block keys per step into 12 slots wraps around; the queue holds the newest
    12 image ids in order (it used to crash on the slice write)."""
    model = build_block_moco(queue_len=12)
    for step in range(3):  # 24 keys: images 0..5, ids block-major per step
        model.loss(*make_block_batch(step, 2))
    written = [[2 * s, 2 * s + 1] * 4 for s in range(3)]
    newest = sum(written, [])[-12:]
    ptr = int(model.queue_ptr)
    assert (ptr, int(model.queue_filled)) == (24 % 12, 12)
    ring = model.queue_labels.tolist()
    assert ring[ptr:] + ring[:ptr] == newest


def test_finding3_nan_key_is_never_enqueued_block_moco():
    """Finding 3: a NaN key raises before the image-id queue is written."""
    model = build_block_moco(queue_len=16)
    model.loss(*make_block_batch(0, 2))
    before = copy.deepcopy(model.state_dict())
    views, samples = make_block_batch(1, 2)
    views[5][1] = float('nan')  # pipeline 1 (keys), block 1, image 1
    with pytest.raises(FloatingPointError, match=r'BlockMoCo: 1 of the 8 keys of this step are '
                                                 r'NaN or infinite \(image 1 block 1\)'):
        model.loss(views, samples)
    for name, value in model.state_dict().items():
        if not name.startswith(('backbone', 'neck', 'encoder_k')):
            assert torch.equal(value, before[name]), name
    assert torch.isfinite(model.queue).all()


def test_gradient_reaches_query_encoder_only():
    model = build_block_moco()
    model.loss(*make_block_batch(0, 2))['loss'].backward()
    assert model.backbone.conv.weight.grad is not None
    assert all(p.grad is None for p in model.encoder_k.parameters())


STEPS = 3
LOCAL_IMAGES = 2


def _run(model, views, samples):
    out = model.loss(views, samples)
    model.zero_grad()
    out['loss'].backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()
             if p.grad is not None}
    if dist.is_initialized():
        for g in grads.values():
            dist.all_reduce(g)
            g /= dist.get_world_size()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n in grads:
                p -= 0.5 * grads[n]
    return out['loss'].detach(), grads, model.queue.clone(), model.queue_labels.clone()


def _worker(rank, world, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    try:
        model = build_block_moco(queue_len=32)
        results = []
        for step in range(STEPS):
            views, samples = make_block_batch(step, LOCAL_IMAGES * world)
            part = slice(rank * LOCAL_IMAGES, (rank + 1) * LOCAL_IMAGES)
            results.append(_run(model, [v[part] for v in views], samples[part]))
        torch.save(results, osp.join(out_dir, f'rank{rank}.pth'))
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _ddp_order(world=2, num_blocks=4, queue_len=32):
    """Queue row of a 2-process run holding the key of each single-process queue row."""
    images = LOCAL_IMAGES * world
    chunk = []
    for b in range(num_blocks):  # single process: row b * images + i
        for i in range(images):
            rank, local = divmod(i, LOCAL_IMAGES)
            chunk.append(rank * num_blocks * LOCAL_IMAGES + b * LOCAL_IMAGES + local)
    step = len(chunk)
    return torch.tensor([start + c for start in range(0, queue_len, step) for c in chunk])


_DDP_ORDER = _ddp_order()


def test_two_gloo_processes_equal_one_process(tmp_path):
    world = 2
    mp.spawn(_worker, args=(world, str(tmp_path / 'init'), str(tmp_path)), nprocs=world,
             join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pth', weights_only=False) for r in range(world)]
    single = build_block_moco(queue_len=32)
    for step in range(STEPS):
        loss, grads, queue, queue_ids = _run(single,
                                             *make_block_batch(step, LOCAL_IMAGES * world))
        mean_loss = torch.stack([r[step][0] for r in ranks]).mean()
        torch.testing.assert_close(mean_loss, loss, rtol=1e-5, atol=1e-6)
        for r in ranks:
            for name in grads:
                torch.testing.assert_close(r[step][1][name], grads[name], rtol=1e-4,
                                           atol=1e-6, msg=f'{step} {name}')
            # keys are gathered in rank order, each rank's share block-major: the same keys
            # and image ids as one process, in that order
            order = _DDP_ORDER[:min(32, 16 * (step + 1))]  # the written rows
            torch.testing.assert_close(r[step][2][order], queue[:len(order)])
            assert torch.equal(r[step][3][order], queue_ids[:len(order)])
