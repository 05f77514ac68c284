# Copyright (c) mlcl_plugin authors. All rights reserved.
"""DDP: BlockSimSiam on 2 gloo processes gives the same loss and gradients as one process on
the concatenated batch (features gathered with gradient, globally unique image ids)."""
import os.path as osp

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tests.test_models.test_selfsup.block_fixtures import build_block_simsiam, make_block_batch

STEPS = 2
LOCAL_IMAGES = 2
FORMS = ('log_sum', 'supcon')


def _run(model, views, samples):
    """One step: loss, backward, SGD; returns (loss terms, grads)."""
    out = model.loss(views, samples)
    model.zero_grad()
    (out['loss_simsiam'] + out['loss_ia']).backward()
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
    return (out['loss_simsiam'].detach(), out['loss_ia'].detach()), grads


def _worker(rank, world, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    try:
        for form in FORMS:  # one process group for both forms: spawning dominates the time
            model = build_block_simsiam(ia_head=dict(type='ImageAwareHead', loss_weight=4.0,
                                                     form=form))
            results = []
            for step in range(STEPS):
                views, samples = make_block_batch(step, LOCAL_IMAGES * world)
                part = slice(rank * LOCAL_IMAGES, (rank + 1) * LOCAL_IMAGES)
                results.append(_run(model, [v[part] for v in views], samples[part]))
            torch.save(results, osp.join(out_dir, f'{form}_rank{rank}.pth'))
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def ddp_results(tmp_path_factory):
    world = 2
    out = tmp_path_factory.mktemp('block_simsiam_ddp')
    mp.spawn(_worker, args=(world, str(out / 'init'), str(out)), nprocs=world, join=True)
    return {form: [torch.load(out / f'{form}_rank{r}.pth', weights_only=False)
                   for r in range(world)] for form in FORMS}


@pytest.mark.parametrize('form', FORMS)
def test_two_gloo_processes_equal_one_process(ddp_results, form):
    world = 2
    ranks = ddp_results[form]

    single = build_block_simsiam(ia_head=dict(type='ImageAwareHead', loss_weight=4.0,
                                              form=form))
    for step in range(STEPS):
        losses, grads = _run(single, *make_block_batch(step, LOCAL_IMAGES * world))
        for term in range(2):
            # DDP reports per-rank losses; their mean is the loss of the concatenated batch
            mean_loss = torch.stack([r[step][0][term] for r in ranks]).mean()
            torch.testing.assert_close(mean_loss, losses[term], rtol=1e-5, atol=1e-6)
        for r in ranks:
            assert r[step][1].keys() == grads.keys()
            for name in grads:
                torch.testing.assert_close(r[step][1][name], grads[name], rtol=1e-4,
                                           atol=1e-6, msg=f'{step} {name}')
