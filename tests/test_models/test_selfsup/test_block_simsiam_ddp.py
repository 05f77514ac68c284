# Copyright (c) mlcl_plugin authors. All rights reserved.
"""DDP: BlockSimSiam on 2 gloo processes. ``ia_scope='global'`` gives the same loss and
gradients as one process on the concatenated batch (features gathered with gradient, globally
unique image ids); ``ia_scope='local'`` (the paper's per-GPU loss) gives the mean of the
losses and gradients of one process on each rank's share."""
import os.path as osp

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tests.test_models.test_selfsup.block_fixtures import build_block_simsiam, make_block_batch

STEPS = 2
LOCAL_IMAGES = 2
FORMS = ('log_sum', 'supcon')
CASES = (('log_sum', 'global'), ('supcon', 'global'), ('log_sum', 'local'))


def _build(form, scope):
    return build_block_simsiam(ia_head=dict(type='ImageAwareHead', loss_weight=4.0, form=form),
                               ia_scope=scope)


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
        for form, scope in CASES:  # one process group for all: spawning dominates the time
            model = _build(form, scope)
            results = []
            for step in range(STEPS):
                views, samples = make_block_batch(step, LOCAL_IMAGES * world)
                part = slice(rank * LOCAL_IMAGES, (rank + 1) * LOCAL_IMAGES)
                results.append(_run(model, [v[part] for v in views], samples[part]))
            torch.save(results, osp.join(out_dir, f'{form}_{scope}_rank{rank}.pth'))
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def ddp_results(tmp_path_factory):
    world = 2
    out = tmp_path_factory.mktemp('block_simsiam_ddp')
    mp.spawn(_worker, args=(world, str(out / 'init'), str(out)), nprocs=world, join=True)
    return {case: [torch.load(out / f'{case[0]}_{case[1]}_rank{r}.pth', weights_only=False)
                   for r in range(world)] for case in CASES}


@pytest.mark.parametrize('form', FORMS)
def test_two_gloo_processes_equal_one_process(ddp_results, form):
    world = 2
    ranks = ddp_results[(form, 'global')]

    single = _build(form, 'global')
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


def test_local_scope_is_the_mean_of_per_rank_losses(ddp_results):
    world = 2
    ranks = ddp_results[('log_sum', 'local')]
    single = _build('log_sum', 'local')
    for step in range(STEPS):
        views, samples = make_block_batch(step, LOCAL_IMAGES * world)
        losses, grads = [], []
        for rank in range(world):  # one process on each rank's share, same weights
            part = slice(rank * LOCAL_IMAGES, (rank + 1) * LOCAL_IMAGES)
            out = single.loss([v[part] for v in views], samples[part])
            single.zero_grad()
            (out['loss_simsiam'] + out['loss_ia']).backward()
            losses.append((out['loss_simsiam'].detach(), out['loss_ia'].detach()))
            grads.append({n: p.grad.detach().clone() for n, p in single.named_parameters()
                          if p.grad is not None})
        for rank in range(world):  # no collective in the loss: each rank's own loss
            for term in range(2):
                torch.testing.assert_close(ranks[rank][step][0][term], losses[rank][term],
                                           rtol=1e-5, atol=1e-6)
        mean_grads = {n: (grads[0][n] + grads[1][n]) / 2 for n in grads[0]}
        for r in ranks:
            for name, g in mean_grads.items():
                torch.testing.assert_close(r[step][1][name], g, rtol=1e-4, atol=1e-6,
                                           msg=f'{step} {name}')
        with torch.no_grad():
            for n, p in single.named_parameters():
                if n in mean_grads:
                    p -= 0.5 * mean_grads[n]
