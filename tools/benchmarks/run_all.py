# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Run every performance benchmark of the plugin and print one table.

Each benchmark is a script of this folder run as a subprocess with ``--json`` (and ``--quick``
for the tiny sizes CI runs, so that a regression shows); its rows are gathered into one table:
what, size, ours, peer, ratio, target, pass, peak memory (ours / peer and their ratio). Ratios
are measured side by side inside each script, never against stored numbers.

* ``mulsupcon_head``: MulSupCon's queue + head step vs a MoCo v2 InfoNCE step, and the loss
  alone vs InfoNCE, over classes, batch and queue sizes;
* ``metric``: ``MultiLabelPaperMetric`` with the oracle threshold sweep vs scikit-learn's macro
  AP alone;
* ``vector_step``: a MulSupCon vector pretraining step vs a BCE step (yeast, MLP);
* ``blockwise_pipeline``: BlockWiseAug's 8 views vs MoCo v2's 2 views per photo;
* ``data_loading``: the data-loader wait fraction of the real-photo pretraining configs.

With ``--update PREVIOUS.json`` (an earlier ``--json``), the rows measured now replace the rows
of the same benchmark, what and size in that earlier run and the others are kept; every row
keeps the commit and date of the run that measured it, and the table's header says which rows
came from which run (``--args NAME="..."`` narrows a benchmark, e.g. to some of its cells).

Examples::

    python tools/benchmarks/run_all.py --quick                        # CI size, minutes
    python tools/benchmarks/run_all.py --data-root ../shared/data \\
        --json work_dirs/bench/all.json --readme README.md \\
        --plot docs/figures/mulsupcon_scaling.png                      # full size
    python tools/benchmarks/run_all.py --only vector_step mulsupcon_head \
        --args mulsupcon_head="--queue 4096" --update work_dirs/bench/all.json \
        --json work_dirs/bench/all.json --readme README.md              # re-measure some rows
"""
import argparse
import datetime
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, HERE)
import orchestration as orch  # noqa: E402
from benchmark_mulsupcon_head import format_table  # noqa: E402

README_BEGIN = '<!-- benchmarks:begin -->'
README_END = '<!-- benchmarks:end -->'


def benchmarks(data_root):
    """``name -> (script, arguments)``; ``--quick`` / ``--json`` are added by the caller."""
    return {
        'mulsupcon_head': ('benchmark_mulsupcon_head.py', []),
        'metric': ('benchmark_metric.py', []),
        'vector_step': ('benchmark_vector_pretrain_step.py', ['--data-root', data_root]),
        'blockwise_pipeline': ('benchmark_blockwise_pipeline.py',
                               ['--data-root', osp.join(data_root, 'coco128', 'train2017')]),
        'data_loading': ('benchmark_data_loading.py', ['--data-root', data_root]),
    }


def merge_rows(new_rows, previous, commit, stamp):
    """``new_rows`` (measured now) plus the rows of ``previous`` (an earlier ``--json``) that
    they do not re-measure, each row tagged with the commit and date of its run."""
    new_rows = [{'commit': commit, 'date': stamp, **row} for row in new_rows]
    if not previous:
        return new_rows
    ident = {(r['benchmark'], r['what'], r['size']) for r in new_rows}
    kept = []
    for row in previous['rows']:
        if (row['benchmark'], row['what'], row['size']) in ident:
            continue
        kept.append({'commit': previous['commit'], 'date': previous['date'], **row})
    # the earlier run's order, re-measured rows in their old places where they had one
    order = {(r['benchmark'], r['what'], r['size']): i for i, r in enumerate(previous['rows'])}
    rows = kept + new_rows
    return sorted(rows, key=lambda r: order.get((r['benchmark'], r['what'], r['size']),
                                                len(order)))


def provenance(rows):
    """One sentence per run: which benchmarks' rows (how many) a commit and date measured."""
    runs = {}
    for row in rows:
        runs.setdefault((row['commit'], row['date']), {}).setdefault(row['benchmark'], 0)
        runs[(row['commit'], row['date'])][row['benchmark']] += 1
    return ' '.join(
        f'Rows of run `{commit}` ({date}): '
        + ', '.join(f'{name} ({n})' for name, n in benches.items()) + '.'
        for (commit, date), benches in sorted(runs.items(), key=lambda kv: kv[0][1]))


def run_benchmark(name, script, extra, quick, out_dir):
    """Run one benchmark script; returns its rows, wall seconds and any error text."""
    out = osp.join(out_dir, f'{name}.json')
    cmd = [sys.executable, osp.join(HERE, script), '--json', out] + extra
    if quick:
        cmd.append('--quick')
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0 or not osp.exists(out):
        return [], wall, (proc.stdout + proc.stderr)[-3000:]
    with open(out) as f:
        rows = json.load(f)
    for row in rows:
        row['benchmark'] = name
    return rows, wall, None


def git_commit(outputs=()):
    """Short commit of the checkout (``+dirty`` with uncommitted changes other than to the
    ``outputs`` this run writes), or 'unknown'."""
    return orch.git_commit(mark_dirty=True, outputs=outputs)


def machine():
    """A one-line description of this machine."""
    return orch.machine()


def write_readme(path, block):
    """Replace the marked benchmarks block of ``path`` (atomically)."""
    try:
        orch.replace_marked_block(path, README_BEGIN, README_END, [block])
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def scaling_plot(rows, path):
    """Time and peak memory of the MulSupCon step and InfoNCE against C, one line per B, K."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    steps = [r for r in rows if r['benchmark'] == 'mulsupcon_head'
             and r['what'].startswith('MulSupCon step')]
    if not steps:
        return False
    series = {}
    for r in steps:
        parts = dict(p.split('=') for p in r['size'].replace('(', '').split() if '=' in p)
        key = (int(parts['B']), int(parts['K']))
        series.setdefault(key, []).append((int(parts['C']), r))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for (batch, queue), points in sorted(series.items()):
        if len(points) < 2:  # a single cell (the COCO loss check) is no curve
            continue
        points.sort(key=lambda p: p[0])
        cs = [c for c, _ in points]
        for ax, ours, peer, scale in ((axes[0], 'ours_s', 'peer_s', 1e3),
                                      (axes[1], 'ours_mib', 'peer_mib', 1.0)):
            if any(r[ours] is None for _, r in points):
                continue
            line, = ax.plot(cs, [r[ours] * scale for _, r in points], marker='o',
                            label=f'MulSupCon B={batch} K={queue}')
            ax.plot(cs, [r[peer] * scale for _, r in points], marker='x', linestyle='--',
                    color=line.get_color(), label=f'InfoNCE B={batch} K={queue}')
    for ax, label in ((axes[0], 'time per step (ms)'), (axes[1], 'peak extra memory (MiB)')):
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel('classes C')
        ax.set_ylabel(label)
        ax.grid(True, which='both', alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle('MulSupCon step (label queue + head) vs MoCo v2 InfoNCE step, one thread')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='tiny sizes (CI)')
    parser.add_argument('--data-root', default=orch.default_data_root())
    parser.add_argument('--only', nargs='+', help='run only these benchmarks')
    parser.add_argument('--json', help='write all rows (with commit and machine) here')
    parser.add_argument('--readme', help='replace the marked benchmarks block of this file')
    parser.add_argument('--plot', help='save the scaling plot (PNG) here')
    parser.add_argument('--update', help='an earlier --json: keep its rows that this run does '
                        'not re-measure')
    parser.add_argument('--args', nargs='+', default=[], metavar='NAME="ARGS"',
                        help='extra arguments of one benchmark script, e.g. '
                        'mulsupcon_head="--queue 4096"')
    args = parser.parse_args()
    extra_args = {}
    for item in args.args:
        name, _, text = item.partition('=')
        extra_args[name] = text.split()
    previous = None
    if args.update:
        with open(args.update) as f:
            previous = json.load(f)
    table = benchmarks(osp.abspath(args.data_root))
    names = args.only or list(table)
    unknown = sorted(set(names) - set(table))
    if unknown:
        parser.error(f'unknown benchmarks {unknown}; choose from {sorted(table)}')
    rows, walls, failed = [], {}, {}
    with tempfile.TemporaryDirectory() as out_dir:
        for name in names:
            script, extra = table[name]
            extra = extra + extra_args.get(name, [])
            print(f'== {name} ({script}{" --quick" if args.quick else ""})', flush=True)
            got, wall, error = run_benchmark(name, script, extra, args.quick, out_dir)
            walls[name] = wall
            if error is not None:
                failed[name] = error
                print(f'   FAILED after {wall:.0f} s:\n{error}', flush=True)
                continue
            rows += got
            print(f'   {len(got)} rows in {wall:.0f} s', flush=True)
    commit = git_commit((args.readme, args.json, args.plot))
    stamp = datetime.datetime.now().strftime('%Y-%m-%d %H:%M')
    rows = merge_rows(rows, previous, commit, stamp)
    if previous:
        walls = {**previous.get('walls', {}), **walls}
    header = (f'Benchmarks on {machine()}, {"quick" if args.quick else "full"} sizes; '
              'generated by `tools/benchmarks/run_all.py`. ' + provenance(rows)
              + ' Wall time per benchmark: '
              + ', '.join(f'{n} {w / 60:.1f} min' for n, w in walls.items()) + '.')
    table_md = format_table(rows)
    passed = sum(bool(r['pass']) for r in rows)
    summary = f'{passed} of {len(rows)} time targets met'
    mem_rows = [r for r in rows if r.get('mem_pass') is not None]
    if mem_rows:
        summary += (f'; {sum(bool(r["mem_pass"]) for r in mem_rows)} of {len(mem_rows)} '
                    'memory targets met')
    print()
    print(header)
    print()
    print(table_md)
    print()
    print(summary + '.')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(commit=commit, machine=machine(), date=stamp, quick=args.quick,
                           walls=walls, failed=failed, rows=rows), f, indent=1)
    if args.plot and scaling_plot(rows, args.plot):
        print(f'scaling plot: {args.plot}')
    if args.readme:
        write_readme(args.readme, f'{header}\n\n{table_md}\n\n{summary}.')
    if failed:
        raise SystemExit(f'benchmarks failed: {", ".join(sorted(failed))}')


if __name__ == '__main__':
    main()
