# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Benchmark :class:`MultiLabelPaperMetric` against scikit-learn's macro average precision.

Methods, all on the same arrays (N x C float32 scores and float32 0/1 targets, what the
metric's ``compute_metrics`` stacks from the data samples):

* ``ours``: ``MultiLabelPaperMetric.calculate(pred, target, oracle=True)``, i.e. the mAP, the
  thresholded metrics at 0.5, precision@1 and the oracle sweep over 0.1, ..., 0.9;
* ``ours_all``: the same with ``attributes=True`` and ``mlgcn=True`` (adds the PETA metrics
  and the ML-GCN family with its top-3 variant);
* ``peer``: ``sklearn.metrics.average_precision_score(target, pred, average='macro')``, the
  mAP alone.

Inputs: the classes' positive rates follow a power law (rank + 1) ** -0.5 scaled to the mean
label density (about 2 % for C=983, 3.6 % for C=80, as COCO); every class gets at least one
positive (so both mAPs average the same classes); the scores are the sigmoid of a standard
normal plus a shift on the positives.

Time is the median over ``--repeats`` calls (methods interleaved, so load drift hits all
alike), by default of the wall clock; ``--clock cpu`` uses the process CPU time instead,
which a machine loaded by other jobs disturbs less (every method here is single-threaded).
Peak memory: each method runs once in a fresh forked subprocess (forked rather than a new
interpreter: no second start of torch and mmpretrain and no second copy of the inputs); the
resident set is read there (baseline), the kernel's peak-RSS counter is reset
(``/proc/self/clear_refs``), the method runs, and the reported value is the peak RSS
(``VmHWM``) minus the baseline. glibc's mmap threshold is pinned first so freed large buffers
go back to the OS and cannot hide allocations.

Example::

    python tools/benchmarks/benchmark_metric.py --json metric.json
    python tools/benchmarks/benchmark_metric.py --quick
"""
import argparse
import ctypes
import json
import multiprocessing
import os.path as osp
import statistics
import sys
import time
import warnings

import numpy as np
from peak_rss import peak_extra_bytes

try:
    from mlcl_plugin.evaluation.metrics.multi_label_paper import MultiLabelPaperMetric
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    from mlcl_plugin.evaluation.metrics.multi_label_paper import MultiLabelPaperMetric

# (samples, classes, mean label density): a large-vocabulary set (NUS-WIDE / Open Images
# scale) and a COCO-sized one.
SIZES = ((50000, 983, 0.02), (40000, 80, 0.036))
QUICK_SIZES = ((2000, 98, 0.02), (1600, 8, 0.036))
METHODS = ('ours', 'ours_all', 'peer')
WHAT = {'ours': 'metric+oracle vs sklearn macro AP',
        'ours_all': 'metric+oracle+attributes+mlgcn vs sklearn macro AP'}
TIME_TARGET = 1.5  # ours / sklearn time
MEM_TARGET = 2.0  # ours / sklearn peak memory


def make_inputs(num_samples, num_classes, density, seed=0):
    """float32 scores and float32 0/1 targets with power-law class frequencies.

    Args:
        num_samples (int): N.
        num_classes (int): C.
        density (float): Mean share of positive entries before the one forced positive per
            class.
        seed (int): Random seed. Defaults to 0.

    Returns:
        tuple: ``pred`` (N x C float32 in (0, 1)), ``target`` (N x C float32 0/1).
    """
    rng = np.random.default_rng(seed)
    weights = (np.arange(num_classes) + 1.) ** -0.5
    rates = np.minimum(density * num_classes * weights / weights.sum(), 0.5).astype(np.float32)
    target = rng.random((num_samples, num_classes), dtype=np.float32)
    target = (target < rates).astype(np.float32)
    target[rng.integers(num_samples, size=num_classes), np.arange(num_classes)] = 1
    # In place, so that generating the inputs needs no float64 N x C copies.
    pred = rng.standard_normal((num_samples, num_classes), dtype=np.float32)
    pred += 2.5 * target - 2.
    np.negative(pred, out=pred)
    np.exp(pred, out=pred)
    pred += 1
    np.reciprocal(pred, out=pred)
    return pred, target


def run_method(name, pred, target):
    """Run one method; returns the mAP in percent (for the agreement check)."""
    if name == 'peer':
        from sklearn.metrics import average_precision_score
        return 100 * average_precision_score(target, pred, average='macro')
    extra = dict(attributes=True, mlgcn=True) if name == 'ours_all' else {}
    return MultiLabelPaperMetric.calculate(pred, target, oracle=True, **extra)['mAP']


def _pin_malloc():
    """Fix glibc's mmap and trim thresholds (inherited by the forked memory children).

    glibc otherwise raises its mmap threshold after the first large free, keeping later
    buffers in the heap, where reusing them does not raise the peak-RSS counter.
    """
    try:
        libc = ctypes.CDLL('libc.so.6')
        libc.mallopt(-1, 131072)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 131072)  # M_MMAP_THRESHOLD (also stops its dynamic adjustment)
    except (OSError, AttributeError):
        pass


def _memory_child(name, pred, target, conn):
    """In the forked child: peak extra resident memory of one call of ``name``."""
    try:
        conn.send(peak_extra_bytes(lambda: run_method(name, pred, target)))
    except OSError:  # no /proc: report n/a
        conn.send(None)
    finally:
        conn.close()


def measure_memory(name, pred, target):
    """Peak extra memory (bytes) of one call of ``name`` in a fresh forked process."""
    if 'fork' not in multiprocessing.get_all_start_methods():
        return None
    ctx = multiprocessing.get_context('fork')
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_memory_child, args=(name, pred, target, send))
    proc.start()
    send.close()
    try:
        result = recv.recv()
    except EOFError:  # the child died (e.g. out of memory)
        result = None
    proc.join()
    return result


def time_methods(pred, target, repeats, clock):
    """Median time of each method over ``repeats`` interleaved calls."""
    timer = time.process_time if clock == 'cpu' else time.perf_counter
    times = {m: [] for m in METHODS}
    maps = {}
    for _ in range(repeats):
        for name in METHODS:
            start = timer()
            maps[name] = run_method(name, pred, target)
            times[name].append(timer() - start)
    return {m: statistics.median(t) for m, t in times.items()}, maps


def _mib(nbytes):
    return None if nbytes is None else nbytes / 2**20


def _ratio(ours, peer):
    return None if ours is None or not peer else ours / peer


def main(argv=None):
    """Run the benchmark; returns the JSON rows.

    Args:
        argv (list[str], optional): Command line arguments. Defaults to ``sys.argv[1:]``.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='tiny sizes (a few seconds, for CI); timings mean little there')
    parser.add_argument('--repeats', type=int, default=None,
                        help='timed calls per method (default 3, 5 with --quick)')
    parser.add_argument('--clock', choices=('wall', 'cpu'), default='wall',
                        help='wall clock or process CPU time (default wall)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', metavar='PATH', help='write the rows as a JSON list')
    parser.add_argument('--data-root', help='ignored (the inputs are synthetic); accepted so '
                        'that a runner can pass the same options to every benchmark')
    args = parser.parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 3)
    sizes = QUICK_SIZES if args.quick else SIZES
    _pin_malloc()

    # Warm-up on a small case: imports and lazy library state are not the methods' cost,
    # and the forked memory children inherit it.
    warm = make_inputs(200, 6, 0.2, args.seed)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for name in METHODS:
            run_method(name, *warm)

    print(f'numpy {np.__version__}; median of {repeats} calls ({args.clock} clock), methods '
          'interleaved; peak memory: fresh forked process per method, peak RSS (VmHWM after '
          '/proc/self/clear_refs) minus the RSS before the call; inputs float32 N x C')
    rows, notes = [], []
    for num_samples, num_classes, density in sizes:
        size = f'N={num_samples} C={num_classes}'
        pred, target = make_inputs(num_samples, num_classes, density, args.seed)
        mem = {name: measure_memory(name, pred, target) for name in METHODS}
        times, maps = time_methods(pred, target, repeats, args.clock)
        diff = abs(maps['ours'] - maps['peer'])
        notes.append(f'{size}: label density {target.mean():.2%}; mAP ours {maps["ours"]:.6f}, '
                     f'sklearn {maps["peer"]:.6f} (abs diff {diff:.1e})')
        for name in ('ours', 'ours_all'):
            ratio = _ratio(times[name], times['peer'])
            mem_ratio = _ratio(mem[name], mem['peer'])
            rows.append({
                'what': WHAT[name], 'size': size,
                'ours_s': times[name], 'peer_s': times['peer'], 'ratio': ratio,
                'target': TIME_TARGET, 'pass': bool(ratio <= TIME_TARGET),
                'ours_mib': _mib(mem[name]), 'peer_mib': _mib(mem['peer']),
                'mem_ratio': mem_ratio, 'mem_target': MEM_TARGET,
                'mem_pass': None if mem_ratio is None else bool(mem_ratio <= MEM_TARGET)})
        del pred, target

    def fmt(value, spec):
        return 'n/a' if value is None else format(value, spec)

    header = (f"{'what':<52} {'size':<15} {'ours s':>8} {'sklearn s':>9} {'ratio':>6} "
              f"{'pass':>5} {'ours MiB':>9} {'sk MiB':>8} {'ratio':>6} {'pass':>5}")
    print()
    print(header)
    print('-' * len(header))
    for row in rows:
        print(f"{row['what']:<52} {row['size']:<15} {row['ours_s']:>8.3f} "
              f"{row['peer_s']:>9.3f} {row['ratio']:>6.2f} {str(row['pass']):>5} "
              f"{fmt(row['ours_mib'], '.1f'):>9} {fmt(row['peer_mib'], '.1f'):>8} "
              f"{fmt(row['mem_ratio'], '.2f'):>6} {fmt(row['mem_pass'], ''):>5}")
    print(f'targets: time ratio <= {TIME_TARGET}, memory ratio <= {MEM_TARGET}')
    for note in notes:
        print(note)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == '__main__':
    main()
