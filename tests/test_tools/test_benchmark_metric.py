# Copyright (c) mlcl_plugin authors. All rights reserved.
"""tools/benchmarks/benchmark_metric.py: ``--quick --json`` writes well-formed rows.

Only the rows' shape is checked: timings and pass flags depend on the machine and its load, so
they are never asserted.
"""
import json
import math
import os.path as osp
import subprocess
import sys

import pytest

from tests.tiny_run import REPO_ROOT

SCRIPT = osp.join(REPO_ROOT, 'tools', 'benchmarks', 'benchmark_metric.py')
KEYS = {'what', 'size', 'ours_s', 'peer_s', 'ratio', 'target', 'pass', 'ours_mib', 'peer_mib',
        'mem_ratio', 'mem_target', 'mem_pass'}


def test_quick_json_rows(tmp_path):
    out = tmp_path / 'rows.json'
    proc = subprocess.run([sys.executable, SCRIPT, '--quick', '--json', str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = json.loads(out.read_text())
    # two sizes, each: the metric with the oracle, and with attributes and ML-GCN too
    assert len(rows) == 4
    assert len({(row['what'], row['size']) for row in rows}) == 4
    for row in rows:
        assert set(row) == KEYS, row
        assert isinstance(row['what'], str)
        assert 'sklearn' in row['what']
        assert row['size'].startswith('N=')
        for key in ('ours_s', 'peer_s', 'ratio', 'target', 'mem_target'):
            assert isinstance(row[key], float), (key, row)
            assert math.isfinite(row[key]), (key, row)
            assert row[key] > 0, (key, row)
        assert row['ratio'] == pytest.approx(row['ours_s'] / row['peer_s'])
        assert isinstance(row['pass'], bool)
        if sys.platform.startswith('linux'):  # peak RSS comes from /proc
            for key in ('ours_mib', 'peer_mib', 'mem_ratio'):
                assert isinstance(row[key], float), (key, row)
                assert math.isfinite(row[key]), (key, row)
                assert row[key] > 0, (key, row)
            assert row['mem_ratio'] == pytest.approx(row['ours_mib'] / row['peer_mib'])
            assert isinstance(row['mem_pass'], bool)
    assert 'sklearn' in proc.stdout  # the table was printed
