# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Benchmark :class:`MulSupConLoss` against the reference row formulation and MoCo InfoNCE.

Methods, all on the same query (B x D, requires grad) and keys (K x D = B own keys followed by
a queue of Q entries, no grad, as with a momentum encoder):

* ``ours``: ``MulSupConLoss`` (B x K logits, one logsumexp and C x K x D class sums of the keys).
* ``(a) ref rows``: the reference code's per-(anchor, label)-row formulation, written here from
  a description of that code (docs/algorithms/mulsupcon.md): R = Σ|y_i| score rows x K
  columns (the query repeated per label, then a textbook SupCon L_out over the rows), mask from an
  (R x C)·(C x K) product, per-row weights from a Python list comprehension after ``.tolist()``.
* ``(b) moco``: plain MoCo InfoNCE: positive logit q·k_own, negatives = the queue,
  cross-entropy with target 0.
* ``(c) logp @ Y form``: the vectorised form of MulSupCon's Eq. 4-5 (one B x K ``log_softmax``
  and one (B x K)·(K x C) product), shown for comparison with the class-sum evaluation ``ours``
  uses.

Time is the median over ``--repeats`` of one forward+backward (methods interleaved, so load
drift hits all alike). Peak memory on CPU: each method runs in a fresh subprocess; after one
warm-up step the resident set is read (baseline), the kernel's peak-RSS counter is reset
(``/proc/self/clear_refs``), one forward+backward runs, and the reported value is the peak
RSS minus the baseline. glibc's dynamic mmap threshold is pinned so freed large buffers go back
to the OS and cannot hide allocations. On CUDA: ``torch.cuda.max_memory_allocated`` minus the
allocated memory before the step.

Example::

    python tools/benchmarks/benchmark_mulsupcon_loss.py --batch 256 --queue 8192 --dim 128 \
        --classes 80 365 --repeats 20 --threads 2
"""
import argparse
import gc
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F
from peak_rss import MALLOC_ENV, peak_extra_bytes

try:
    from mlcl_plugin.models.losses.mulsupcon_loss import MulSupConLoss
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    from mlcl_plugin.models.losses.mulsupcon_loss import MulSupConLoss

METHODS = ('ours', 'ref_rows', 'moco', 'spec_form')
LABELS = {
    'ours': 'ours (MulSupConLoss)',
    'ref_rows': '(a) ref rows',
    'moco': '(b) MoCo InfoNCE',
    'spec_form': '(c) logp @ Y form',
}


def make_inputs(batch, queue, dim, classes, mean_labels, alpha, seed, device):
    """Query, keys and multi-hot labels with a power-law class frequency.

    Each sample gets 1 + Poisson(mean_labels - 1) distinct labels (capped at C), drawn without
    replacement with class probabilities proportional to (rank + 1) ** -alpha.
    """
    gen = torch.Generator().manual_seed(seed)
    num = batch + queue
    counts = 1 + torch.poisson(torch.full((num, ), mean_labels - 1.0), generator=gen).long()
    counts = counts.clamp(max=classes)
    probs = (torch.arange(classes, dtype=torch.float64) + 1).pow(-alpha)
    max_count = int(counts.max())
    draws = torch.multinomial(probs.expand(num, classes), max_count, replacement=False,
                              generator=gen)  # num x max_count class indices
    keep = torch.arange(max_count)[None, :] < counts[:, None]
    labels = torch.zeros(num, classes)
    labels.scatter_(1, draws, keep.float())
    query = F.normalize(torch.randn(batch, dim, generator=gen), dim=1)
    own = F.normalize(query + 0.5 * torch.randn(batch, dim, generator=gen), dim=1)
    queue_feats = F.normalize(torch.randn(queue, dim, generator=gen), dim=1)
    keys = torch.cat([own, queue_feats])  # K x D, K = B + Q
    query_labels, key_labels = labels[:batch], labels  # own keys carry the anchors' labels
    return [t.to(device) for t in (query, keys, query_labels, key_labels)]


def reference_rows_loss(query, keys, query_labels, key_labels, temperature, per_sample=False):
    """Per-(anchor, label)-row formulation of the reference code (docs/algorithms/mulsupcon.md).

    Every (anchor, label) pair becomes one anchor row (the query repeated per label), scored
    against all keys and fed to a textbook SupCon (L_out) criterion over R rows.
    """
    num_anchors, num_classes = query_labels.shape
    anchor_idx, label_idx = query_labels.nonzero(as_tuple=True)  # R pairs (host sync)
    rows = query[anchor_idx]  # R x D
    scores = rows @ keys.t() / temperature  # R x K
    scores = scores - scores.max(dim=1, keepdim=True).values.detach()
    log_prob = scores - scores.exp().sum(dim=1, keepdim=True).log()  # R x K
    row_labels = F.one_hot(label_idx, num_classes).float()  # R x C
    mask = row_labels @ key_labels.t()  # (R x C)·(C x K) -> R x K positives of each row
    row_loss = -(mask * log_prob).sum(dim=1) / mask.sum(dim=1)  # R
    counts = query_labels.sum(dim=1).long().tolist()  # host sync
    if per_sample:
        weights = [1.0 / (c * num_anchors) for c in counts for _ in range(c)]
    else:
        total = sum(counts)
        weights = [1.0 / total for c in counts for _ in range(c)]
    return (torch.tensor(weights, device=query.device) * row_loss).sum()


def moco_loss(query, keys, temperature):
    """MoCo InfoNCE: the own key (first B keys) is the positive, the queue the negatives."""
    batch = query.shape[0]
    pos = (query * keys[:batch]).sum(dim=1, keepdim=True)  # B x 1
    neg = query @ keys[batch:].t()  # B x Q
    logits = torch.cat([pos, neg], dim=1) / temperature  # B x (1 + Q)
    target = torch.zeros(batch, dtype=torch.long, device=query.device)
    return F.cross_entropy(logits, target)


def spec_form_loss(query, keys, query_labels, key_labels, temperature):
    """The logp @ Y vectorised MulSupCon (weighting 'none'): G = log_softmax(S / tau) @ Y."""
    logp = F.log_softmax(query @ keys.t() / temperature, dim=1)  # B x K
    n = key_labels.sum(dim=0)  # C
    pairs = query_labels * (n > 0).float()  # B x C
    return -(pairs * (logp @ key_labels) / n.clamp_min(1)).sum() / pairs.sum().clamp_min(1)


def build_method(name, temperature):
    if name == 'ours':
        loss_fn = MulSupConLoss(temperature=temperature)
        return lambda q, k, yq, yk: loss_fn(q, k, yq, yk)
    if name == 'ref_rows':
        return lambda q, k, yq, yk: reference_rows_loss(q, k, yq, yk, temperature)
    if name == 'spec_form':
        return lambda q, k, yq, yk: spec_form_loss(q, k, yq, yk, temperature)
    return lambda q, k, yq, yk: moco_loss(q, k, temperature)


def _sync(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def step(fn, query, keys, yq, yk):
    query.grad = None
    loss = fn(query, keys, yq, yk)
    loss.backward()
    return loss


def time_methods(args, classes, inputs):
    query, keys, yq, yk = inputs
    query.requires_grad_()
    fns = {m: build_method(m, args.temperature) for m in METHODS}
    # Warm-up: thread pools, allocator state and caches settle over the first few steps (the
    # first timed block came out ~30 % slow with only two).
    for _ in range(max(5, args.repeats // 5)):
        for fn in fns.values():
            step(fn, query, keys, yq, yk)
    times = {m: [] for m in METHODS}
    for _ in range(args.repeats):
        for m, fn in fns.items():
            _sync(args.device)
            t0 = time.perf_counter()
            step(fn, query, keys, yq, yk)
            _sync(args.device)
            times[m].append(time.perf_counter() - t0)
    return {m: 1e3 * statistics.median(t) for m, t in times.items()}


def memory_worker(args):
    """Run in a fresh process: peak extra memory of one forward+backward of one method."""
    torch.set_num_threads(args.threads)
    classes = args.classes[0]
    inputs = make_inputs(args.batch, args.queue, args.dim, classes, args.mean_labels,
                         args.alpha, args.seed, args.device)
    query, keys, yq, yk = inputs
    query.requires_grad_()
    fn = build_method(args.memory_worker, args.temperature)
    step(fn, query, keys, yq, yk)  # warm-up: lazy library state is not the method's cost
    query.grad = None
    gc.collect()
    if args.device.startswith('cuda'):
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step(fn, query, keys, yq, yk)
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
        print(json.dumps({'peak_extra': peak - base}))
    else:
        print(json.dumps({'peak_extra': peak_extra_bytes(lambda: step(fn, query, keys, yq,
                                                                      yk))}))


def measure_memory(args, method, classes):
    cmd = [sys.executable, osp.abspath(__file__), '--memory-worker', method,
           '--classes', str(classes)]
    for opt in ('batch', 'queue', 'dim', 'threads', 'seed', 'temperature', 'mean_labels',
                'alpha', 'device'):
        cmd += ['--' + opt.replace('_', '-'), str(getattr(args, opt))]
    env = dict(os.environ, **MALLOC_ENV)  # freed buffers go back to the OS (peak_rss.py)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])['peak_extra']


def check_values(args, inputs):
    query, keys, yq, yk = [t.detach() for t in inputs]
    diffs = {}
    for weighting in ('none', 'per_sample'):
        ours = MulSupConLoss(args.temperature, weighting=weighting)(query, keys, yq, yk)
        ref = reference_rows_loss(query, keys, yq, yk, args.temperature,
                                  per_sample=weighting == 'per_sample')
        diffs[weighting] = (ours.item(), abs(ours.item() - ref.item()))
    spec = spec_form_loss(query, keys, yq, yk, args.temperature)
    diffs['spec_form'] = (spec.item(), abs(spec.item() - diffs['none'][0]))
    return diffs


def fmt_mib(nbytes):
    return 'n/a' if nbytes is None else f'{nbytes / 2**20:.1f}'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=256)
    parser.add_argument('--queue', type=int, default=8192)
    parser.add_argument('--dim', type=int, default=128)
    parser.add_argument('--classes', type=int, nargs='+', default=[80, 365])
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--temperature', type=float, default=0.1)
    parser.add_argument('--mean-labels', type=float, default=2.9,
                        help='mean labels per sample (COCO: 2.9)')
    parser.add_argument('--alpha', type=float, default=1.0,
                        help='power-law exponent of the class frequency')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--no-memory', action='store_true', help='skip the memory subprocesses')
    parser.add_argument('--memory-worker', choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_worker:
        memory_worker(args)
        return
    torch.set_num_threads(args.threads)

    num_keys = args.batch + args.queue
    print(f'torch {torch.__version__}, device {args.device}, threads {args.threads}; '
          f'B={args.batch}, K={num_keys} (B own keys + queue {args.queue}), D={args.dim}, '
          f'tau={args.temperature}; median of {args.repeats} forward+backward '
          '(grad w.r.t. query only)')
    if args.device.startswith('cuda'):
        print('peak memory: torch.cuda.max_memory_allocated minus allocated before the step')
    else:
        print('peak memory: fresh subprocess per method, peak RSS (VmHWM, reset via '
              '/proc/self/clear_refs after one warm-up step) minus RSS before the step')
    header = (f"{'C':>4} {'labels/sample':>13} {'R=sum|y|':>8}  {'method':<22} "
              f"{'time ms':>9} {'peak MiB':>9}")
    results = []
    for classes in args.classes:
        inputs = make_inputs(args.batch, args.queue, args.dim, classes, args.mean_labels,
                             args.alpha, args.seed, args.device)
        yq, yk = inputs[2], inputs[3]
        rows = int(yq.sum())
        density = float(yk.sum(1).mean())
        top = float(yk.mean(0).max())
        diffs = check_values(args, inputs)
        times = time_methods(args, classes, inputs)
        mem = {m: None if args.no_memory else measure_memory(args, m, classes) for m in METHODS}
        results.append((classes, density, top, rows, times, mem, diffs))

    print()
    print(header)
    print('-' * len(header))
    for classes, density, _, rows, times, mem, _ in results:
        for m in METHODS:
            print(f'{classes:>4} {density:>13.2f} {rows:>8}  {LABELS[m]:<22} '
                  f'{times[m]:>9.2f} {fmt_mib(mem[m]):>9}')
    print()
    for classes, _, top, _, times, mem, diffs in results:
        speedup = times['ref_rows'] / times['ours']
        cost = times['ours'] / times['moco']
        line = (f'C={classes}: speed-up over (a) {speedup:.1f}x (target >= 10x); '
                f'cost vs (b) {cost:.2f}x (target <= 1.5x)')
        if mem['ours'] and mem['ref_rows'] and mem['moco']:
            line += (f'; memory ours/(a) {mem["ours"] / mem["ref_rows"]:.2f}, '
                     f'ours/(b) {mem["ours"] / mem["moco"]:.2f}')
        print(line)
        for weighting in ('none', 'per_sample'):
            value, diff = diffs[weighting]
            print(f'    loss ours vs (a), weighting={weighting!r}: {value:.6f}, '
                  f'max abs diff {diff:.2e}')
        print(f'    loss ours vs (c): abs diff {diffs["spec_form"][1]:.2e}; (c) costs '
              f'{times["spec_form"] / times["ours"]:.2f}x ours')
        print(f'    most frequent class on {top:.0%} of samples')


if __name__ == '__main__':
    main()
