# Copyright (c) mlcl_plugin authors. All rights reserved.
"""MulSupCon's label machinery against plain InfoNCE, over classes, batch and queue sizes.

Two comparisons per cell (C classes with a realistic number of labels per sample, B queries,
a queue of K keys of width D), measured side by side in one run, one thread by default:

* ``step``: everything a MulSupCon step adds to MoCo. Ours: :class:`LabelMemoryBank` (gather,
  reference set with the per-class key sums it maintains, or with the labels for a queue too
  small for the sums to pay, as ``MultiLabelMoCo`` chooses; enqueue) then
  :class:`MulSupConHead` forward + backward, with the batch's labels in the form
  ``MultiLabelMoCo`` hands them on CPU (sparse COO with the sums from
  ``MultiLabelMoCo.sparse_labels_min_classes`` on, else dense; made before the timed step, as
  the data pipeline would). The bank starts in the steady state of training: one pass of
  enqueues over the queue first records the label positions of every block it will overwrite.
  Peer: mmpretrain's MoCo v2 step on the same tensors: positive and negative logits against a
  plain key queue, mmpretrain's ``ContrastiveHead`` (InfoNCE) forward + backward, enqueue.
* ``loss``: :class:`MulSupConLoss` alone given the ``(B + K) x C`` key labels (dense, and
  sparse COO) against the InfoNCE loss alone, both on the same query and keys.

Time: median over ``--repeats`` of one step (methods interleaved, so load drift hits all
alike). Peak memory: each method runs in a fresh subprocess; after one warm-up step the
resident set is read, the kernel's peak-RSS counter is reset (``/proc/self/clear_refs``), one
step runs, and the peak minus the baseline is reported (glibc's mmap threshold is pinned so
freed buffers return to the OS).

Example::

    python tools/benchmarks/benchmark_mulsupcon_head.py --json head.json   # the full grid
    python tools/benchmarks/benchmark_mulsupcon_head.py --quick            # seconds
"""
import argparse
import gc
import itertools
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

try:
    import mlcl_plugin  # noqa: F401
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmpretrain.models.heads import ContrastiveHead
from peak_rss import MALLOC_ENV, peak_extra_bytes

from mlcl_plugin.models.heads import MulSupConHead
from mlcl_plugin.models.losses import MulSupConLoss
from mlcl_plugin.models.selfsup.base_moco import BaseMoCo
from mlcl_plugin.models.selfsup.multilabel_moco import MultiLabelMoCo
from mlcl_plugin.models.utils import LabelMemoryBank

# (classes, mean labels per sample): COCO, Objects365, a delicious-like Mulan set, a large
# user taxonomy
FULL_CLASSES = ((80, 3.0), (365, 7.0), (1000, 19.0), (5000, 19.0))
FULL_BATCHES = (64, 256)
FULL_QUEUES = (4096, 65536)
QUICK_CLASSES = ((80, 3.0), (365, 7.0))
QUICK_BATCHES = (16, )
QUICK_QUEUES = (512, )
STEP_TARGET = 1.5
LOSS_TARGET = 1.5
# the loss alone with dense labels at MoCo's usual size on COCO must stay near InfoNCE
COCO_LOSS_CELL = (80, 3.0, 256, 8192)
COCO_LOSS_TARGET = 1.2
METHODS = ('step_ours', 'step_peer', 'loss_dense', 'loss_sparse', 'loss_peer')


def make_labels(num, classes, mean_labels, alpha, gen):
    """``num x C`` multi-hot labels with a power-law class frequency.

    Each row gets 1 + Poisson(mean_labels - 1) distinct labels (capped at C), drawn without
    replacement with class probabilities proportional to (rank + 1) ** -alpha.
    """
    counts = 1 + torch.poisson(torch.full((num, ), mean_labels - 1.0), generator=gen).long()
    counts = counts.clamp(max=classes)
    probs = (torch.arange(classes, dtype=torch.float64) + 1).pow(-alpha)
    max_count = int(counts.max())
    draws = torch.multinomial(probs.expand(num, classes), max_count, replacement=False,
                              generator=gen)
    keep = torch.arange(max_count)[None, :] < counts[:, None]
    labels = torch.zeros(num, classes)
    labels.scatter_(1, draws, keep.float())
    return labels


class Cell:
    """Inputs of one cell and the steps of every method on them."""

    def __init__(self, batch, queue, dim, classes, mean_labels, temperature, seed=0,
                 methods=METHODS):
        gen = torch.Generator().manual_seed(seed)
        self.batch, self.queue, self.temperature = batch, queue, temperature
        # a pool of batches cycled through, so the queue keeps changing as in training
        self.pool = []
        for _ in range(4):
            q = F.normalize(torch.randn(batch, dim, generator=gen), dim=1)
            k = F.normalize(q + 0.5 * torch.randn(batch, dim, generator=gen), dim=1)
            y = make_labels(batch, classes, mean_labels, 1.0, gen)
            self.pool.append((q, k, y))
        queue_keys = F.normalize(torch.randn(queue, dim, generator=gen), dim=1)
        queue_labels = make_labels(queue, classes, mean_labels, 1.0, gen)
        self.labels_per_sample = float(queue_labels.sum(1).mean())
        self.turn = 0
        if 'step_ours' in methods:
            self.bank = LabelMemoryBank(size=(queue, dim), num_classes=classes, mode='full')
            self.bank.keys.copy_(queue_keys)
            self.bank.labels.copy_(queue_labels.to(torch.uint8))
            self.bank.ptr.zero_()
            self.bank.filled.fill_(queue)
            self.bank._ptr, self.bank._filled = 0, queue
            self.head = MulSupConHead(temperature=temperature)
            # the choice MultiLabelMoCo makes: per-class key sums from a large enough queue,
            # then on CPU the batch's labels as sparse COO (the stored labels only); like the
            # dense ones they are built outside the timed step
            self.as_sums = queue * classes >= BaseMoCo.label_sums_min_entries
            sparse = self.as_sums and classes >= MultiLabelMoCo.sparse_labels_min_classes
            self.bank_labels = [y.to_sparse() if sparse else y for _, _, y in self.pool]
            # Steady state of training: after one pass over the queue the bank knows the label
            # positions of every block it overwrites (the first K / B steps look them up).
            # Enqueueing with the label positions records them, without building K-key
            # reference sets.
            for i in range(-(-queue // batch) if self.as_sums else 0):
                k, y = self.pool[i % len(self.pool)][1], self.bank_labels[i % len(self.pool)]
                self.bank.enqueue(k, y, nonzero=None if y.is_sparse else y.nonzero(as_tuple=True))
        if 'step_peer' in methods:
            self.peer_queue = queue_keys.t().contiguous()  # D x K, mmpretrain's layout
            self.peer_ptr = 0
            self.peer_head = ContrastiveHead(loss=dict(type='CrossEntropyLoss'),
                                             temperature=temperature)
        if any(m.startswith('loss') for m in methods):
            q, k, y = self.pool[0]
            self.keys = torch.cat([k, queue_keys])  # (B + K) x D
            self.key_labels = torch.cat([y, queue_labels])  # (B + K) x C, float32
            if 'loss_sparse' in methods:
                self.key_labels_sparse = self.key_labels.to_sparse()
            self.loss = MulSupConLoss(temperature=temperature)
        self.steps = {'step_ours': self.step_ours, 'step_peer': self.step_peer,
                      'loss_dense': self.loss_dense, 'loss_sparse': self.loss_sparse,
                      'loss_peer': self.loss_peer}

    def _next(self):
        q, k, y = self.pool[self.turn % len(self.pool)]
        self.turn += 1
        return q.clone().requires_grad_(), k, y

    def step_ours(self):
        y = self.bank_labels[self.turn % len(self.pool)]
        q, k, _ = self._next()
        ref_keys, ref_labels = self.bank(k, y, as_sums=self.as_sums)
        self.head.loss(q, ref_keys, y, ref_labels)['loss'].backward()

    def step_peer(self):
        # mmpretrain MoCoV2.loss: l_pos / l_neg against the queue, ContrastiveHead, enqueue
        q, k, _ = self._next()
        l_pos = torch.einsum('nc,nc->n', [q, k]).unsqueeze(-1)
        l_neg = torch.einsum('nc,ck->nk', [q, self.peer_queue.clone().detach()])
        self.peer_head.loss(l_pos, l_neg).backward()
        with torch.no_grad():
            end = self.peer_ptr + k.shape[0]
            if end <= self.queue:
                self.peer_queue[:, self.peer_ptr:end] = k.t()
            self.peer_ptr = end % self.queue if end <= self.queue else 0

    def loss_dense(self):
        q = self.pool[0][0].clone().requires_grad_()
        self.loss(q, self.keys, self.pool[0][2], self.key_labels).backward()

    def loss_sparse(self):
        q = self.pool[0][0].clone().requires_grad_()
        self.loss(q, self.keys, self.pool[0][2], self.key_labels_sparse).backward()

    def loss_peer(self):
        # InfoNCE on the same tensors: the own key (first B keys) is the positive
        q = self.pool[0][0].clone().requires_grad_()
        batch = q.shape[0]
        logits = q @ self.keys.t() / self.temperature
        target = torch.arange(batch)
        F.cross_entropy(logits, target).backward()


def time_cell(cell, methods, repeats):
    """Median seconds of one step of each method, interleaved."""
    for _ in range(max(3, repeats // 5)):  # warm-up: thread pools, allocator, caches
        for m in methods:
            cell.steps[m]()
    times = {m: [] for m in methods}
    for _ in range(repeats):
        for m in methods:
            t0 = time.perf_counter()
            cell.steps[m]()
            times[m].append(time.perf_counter() - t0)
    return {m: statistics.median(t) for m, t in times.items()}


def memory_worker(args):
    """In a fresh process: peak extra resident memory of one step of one method."""
    torch.set_num_threads(args.threads)
    cell = Cell(args.batch[0], args.queue[0], args.dim, args.classes[0], args.mean_labels[0],
                args.temperature, methods=(args.memory_worker, ))
    step = cell.steps[args.memory_worker]
    step()  # warm-up: lazy library state is not the method's cost
    print(json.dumps({'peak_extra': peak_extra_bytes(step)}))


def measure_memory(args, method, batch, queue, classes, mean_labels):
    """Peak extra bytes of one step of ``method``, from a fresh subprocess (None if unknown)."""
    cmd = [sys.executable, osp.abspath(__file__), '--memory-worker', method,
           '--batch', str(batch), '--queue', str(queue), '--classes', str(classes),
           '--mean-labels', str(mean_labels), '--dim', str(args.dim),
           '--threads', str(args.threads), '--temperature', str(args.temperature)]
    env = dict(os.environ, **MALLOC_ENV)  # freed buffers go back to the OS (peak_rss.py)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])['peak_extra']


def _ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def rows_of_cell(args, batch, queue, classes, mean_labels, loss_target=LOSS_TARGET):
    """Benchmark rows (``run_all`` format) of one cell."""
    cell = Cell(batch, queue, args.dim, classes, mean_labels, args.temperature)
    size = f'C={classes} ({cell.labels_per_sample:.1f}/row) B={batch} K={queue}'
    times = time_cell(cell, METHODS, args.repeats)
    del cell
    gc.collect()
    # a fresh process per measurement: the step pair only in quick mode (CI), the step and
    # dense-loss pairs at full size
    measured = () if args.no_memory else (
        ('step_ours', 'step_peer') if args.quick
        else ('step_ours', 'step_peer', 'loss_dense', 'loss_peer'))
    mem = {m: measure_memory(args, m, batch, queue, classes, mean_labels) if m in measured
           else None for m in METHODS}
    rows = []
    for what, ours, peer, target in (
            ('MulSupCon step (queue sums + head) vs MoCo v2 InfoNCE step', 'step_ours',
             'step_peer', STEP_TARGET),
            ('MulSupConLoss, dense K x C labels vs InfoNCE loss', 'loss_dense', 'loss_peer',
             loss_target),
            ('MulSupConLoss, sparse K x C labels vs InfoNCE loss', 'loss_sparse', 'loss_peer',
             LOSS_TARGET)):
        ratio = _ratio(times[ours], times[peer])
        mem_ratio = _ratio(mem[ours], mem[peer])
        rows.append(dict(what=what, size=size, ours_s=times[ours], peer_s=times[peer],
                         ratio=ratio, target=target, **{'pass': ratio <= target},
                         ours_mib=None if mem[ours] is None else mem[ours] / 2**20,
                         peer_mib=None if mem[peer] is None else mem[peer] / 2**20,
                         mem_ratio=mem_ratio, mem_target=target,
                         mem_pass=None if mem_ratio is None else mem_ratio <= target))
    return rows


def format_table(rows):
    """The rows as a Markdown table."""
    def num(v, fmt):
        return '-' if v is None else format(v, fmt)

    lines = ['| what | size | ours ms | peer ms | ratio | target | pass | ours MiB | peer MiB '
             '| mem ratio | mem pass |', '| --- ' * 11 + '|']
    for r in rows:
        lines.append(
            f"| {r['what']} | {r['size']} | {num(r['ours_s'] * 1e3, '.2f')} | "
            f"{num(r['peer_s'] * 1e3, '.2f')} | {num(r['ratio'], '.2f')}x | "
            f"<= {r['target']}x | {'yes' if r['pass'] else 'NO'} | {num(r['ours_mib'], '.1f')} "
            f"| {num(r['peer_mib'], '.1f')} | {num(r['mem_ratio'], '.2f')}x | "
            f"{'-' if r['mem_pass'] is None else ('yes' if r['mem_pass'] else 'NO')} |")
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='tiny sizes, a few seconds')
    parser.add_argument('--classes', type=int, nargs='+', help='override the classes')
    parser.add_argument('--mean-labels', type=float, nargs='+',
                        help='labels per sample, one per --classes')
    parser.add_argument('--batch', type=int, nargs='+', help='override the batch sizes')
    parser.add_argument('--queue', type=int, nargs='+', help='override the queue lengths K')
    parser.add_argument('--dim', type=int, default=128)
    parser.add_argument('--repeats', type=int, help='timed steps per method (median)')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--temperature', type=float, default=0.1)
    parser.add_argument('--no-memory', action='store_true', help='skip the memory measurements')
    parser.add_argument('--json', help='write the rows to this JSON file')
    parser.add_argument('--memory-worker', choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_worker:
        memory_worker(args)
        return
    torch.set_num_threads(args.threads)
    pairs = QUICK_CLASSES if args.quick else FULL_CLASSES
    if args.classes:
        means = args.mean_labels or [3.0] * len(args.classes)
        if len(means) != len(args.classes):
            parser.error('--mean-labels needs one value per --classes')
        pairs = tuple(zip(args.classes, means))
    batches = args.batch or (QUICK_BATCHES if args.quick else FULL_BATCHES)
    queues = args.queue or (QUICK_QUEUES if args.quick else FULL_QUEUES)
    args.repeats = args.repeats or (5 if args.quick else 15)
    print(f'torch {torch.__version__}, {args.threads} thread(s), D={args.dim}, '
          f'tau={args.temperature}, median of {args.repeats} steps; peak memory per method in '
          'a fresh subprocess (peak RSS minus RSS before the step)')
    rows = []
    cells = [(c, m, b, q, LOSS_TARGET)
             for (c, m), b, q in itertools.product(pairs, batches, queues)]
    if not (args.quick or args.classes or args.batch or args.queue):
        cells.append(COCO_LOSS_CELL + (COCO_LOSS_TARGET, ))
    for classes, mean_labels, batch, queue, loss_target in cells:
        rows += rows_of_cell(args, batch, queue, classes, mean_labels, loss_target)
        last = rows[-3]
        print(f"{last['size']}: step {last['ratio']:.2f}x, loss dense {rows[-2]['ratio']:.2f}x, "
              f"sparse {rows[-1]['ratio']:.2f}x", flush=True)
    print()
    print(format_table(rows))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
