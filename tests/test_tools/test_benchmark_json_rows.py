# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The benchmarks ``run_all.py`` gathers write well-formed rows with ``--quick --json``.

Each script runs in a subprocess at its CI size on the real data (``shared_data`` skips, or
fails under ``CI=true``, when the data is missing). Only the rows' shape is checked: timings
and pass flags depend on the machine and its load, so they are never asserted.
"""
import json
import math
import os.path as osp
import subprocess
import sys

import pytest

from tests.tiny_run import REPO_ROOT

BENCH = osp.join(REPO_ROOT, 'tools', 'benchmarks')
KEYS = {'what', 'size', 'ours_s', 'peer_s', 'ratio', 'target', 'pass', 'ours_mib', 'peer_mib',
        'mem_ratio', 'mem_target', 'mem_pass'}
# script -> (its --data-root below the shared data folder, number of quick rows)
SCRIPTS = {
    'benchmark_vector_pretrain_step.py': ('', 2),
    'benchmark_blockwise_pipeline.py': (osp.join('coco128', 'train2017'), 1),
    'benchmark_data_loading.py': ('', 1),
}


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@pytest.mark.parametrize('script', list(SCRIPTS))
def test_quick_json_rows(script, shared_data, tmp_path):
    sub, num_rows = SCRIPTS[script]
    out = tmp_path / 'rows.json'
    proc = subprocess.run(
        [sys.executable, osp.join(BENCH, script), '--quick', '--json', str(out),
         '--data-root', osp.join(shared_data, sub)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = json.loads(out.read_text())
    assert isinstance(rows, list)
    assert len(rows) == num_rows
    for row in rows:
        assert set(row) == KEYS, row
        assert isinstance(row['what'], str)
        assert row['what']
        assert isinstance(row['size'], str)
        for key in ('ours_s', 'peer_s', 'ratio', 'target'):
            assert _is_number(row[key]), (key, row)
            assert math.isfinite(row[key]), (key, row)
            assert row[key] > 0, (key, row)
        assert row['ratio'] == pytest.approx(row['ours_s'] / row['peer_s'])
        assert isinstance(row['pass'], bool)
        for key in ('ours_mib', 'peer_mib', 'mem_ratio', 'mem_target'):
            assert row[key] is None or _is_number(row[key]), (key, row)
        assert row['mem_pass'] is None or isinstance(row['mem_pass'], bool)
    # run_all's table names each row: two rows of one script must not share a name and size
    assert len({(r['what'], r['size']) for r in rows}) == len(rows)


@pytest.mark.parametrize('script', ['benchmark_vector_pretrain_step.py',
                                    'benchmark_data_loading.py'])
def test_missing_data_names_the_folder(script, tmp_path):
    empty = tmp_path / 'no_data'
    empty.mkdir()
    proc = subprocess.run(
        [sys.executable, osp.join(BENCH, script), '--quick', '--data-root', str(empty)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert str(empty) in proc.stderr
    assert 'not found' in proc.stderr
