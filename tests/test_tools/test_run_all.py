# Copyright (c) mlcl_plugin authors. All rights reserved.
"""tools/benchmarks/run_all.py: runs the benchmarks at --quick size, gathers their rows into
one table, writes the JSON, the README block and the scaling plot."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from tests.tiny_run import REPO_ROOT, load_tool

SCRIPT = osp.join(REPO_ROOT, 'tools', 'benchmarks', 'run_all.py')
KEYS = {'what', 'size', 'ours_s', 'peer_s', 'ratio', 'target', 'pass', 'ours_mib', 'peer_mib',
        'mem_ratio', 'mem_target', 'mem_pass', 'benchmark', 'commit', 'date'}


def test_quick_head_benchmark_through_run_all(tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text('# x\n\n<!-- benchmarks:begin -->\nold\n<!-- benchmarks:end -->\ntail\n')
    out, plot = tmp_path / 'all.json', tmp_path / 'scaling.png'
    proc = subprocess.run(
        [sys.executable, SCRIPT, '--quick', '--only', 'mulsupcon_head', '--json', str(out),
         '--readme', str(readme), '--plot', str(plot)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(out.read_text())
    rows = result['rows']
    # two quick cells x (step, dense loss, sparse loss)
    assert len(rows) == 6
    for row in rows:
        assert set(row) == KEYS
        assert row['ours_s'] > 0
        assert row['peer_s'] > 0
        assert row['ratio'] == pytest.approx(row['ours_s'] / row['peer_s'])
    steps = [r for r in rows if r['what'].startswith('MulSupCon step')]
    assert all(r['ours_mib'] is not None and r['peer_mib'] is not None for r in steps)
    assert result['commit']
    text = readme.read_text()
    assert 'old' not in text
    assert text.endswith('<!-- benchmarks:end -->\ntail\n')
    assert 'MulSupCon step (queue sums + head) vs MoCo v2 InfoNCE step' in text
    assert plot.stat().st_size > 10_000
    assert 'time targets met' in proc.stdout


def test_unknown_benchmark_is_named():
    proc = subprocess.run([sys.executable, SCRIPT, '--only', 'nope'], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=120)
    assert proc.returncode != 0
    assert "unknown benchmarks ['nope']" in proc.stderr


def test_update_keeps_the_rows_not_measured_again():
    run_all = load_tool(osp.relpath(SCRIPT, REPO_ROOT))
    old = {'commit': 'aaa', 'date': 'd1', 'rows': [
        {'benchmark': 'head', 'what': 'step', 'size': 'K=4096', 'ratio': 2.5},
        {'benchmark': 'head', 'what': 'step', 'size': 'K=65536', 'ratio': 1.0},
        {'benchmark': 'vector', 'what': 'step', 'size': 'yeast', 'ratio': 1.9}]}
    new = [{'benchmark': 'head', 'what': 'step', 'size': 'K=4096', 'ratio': 1.8}]
    rows = run_all.merge_rows(new, old, 'bbb', 'd2')
    assert [(r['size'], r['ratio'], r['commit']) for r in rows] == [
        ('K=4096', 1.8, 'bbb'), ('K=65536', 1.0, 'aaa'), ('yeast', 1.9, 'aaa')]
    assert old['rows'][1].get('commit') is None  # the earlier run's rows are not modified
    assert run_all.provenance(rows) == ('Rows of run `aaa` (d1): head (1), vector (1). '
                                        'Rows of run `bbb` (d2): head (1).')
    assert run_all.merge_rows([dict(new[0])], None, 'c', 'd')[0]['commit'] == 'c'
