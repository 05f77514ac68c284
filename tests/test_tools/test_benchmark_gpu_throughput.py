# Copyright (c) mlcl_plugin authors. All rights reserved.
"""tools/benchmarks/benchmark_gpu_throughput.py at its CPU smoke-test size.

The script times training steps on a GPU; here it runs tiny models on the CPU (``--tiny``) so
that the pairs, their batches (the peer fed ours' views), the JSON rows and the README block
stay working. Timings and ratios depend on the machine, so only their shape is checked.
"""
import json
import math
import os.path as osp
import subprocess
import sys

import pytest

from tests.tiny_run import REPO_ROOT

SCRIPT = osp.join(REPO_ROOT, 'tools', 'benchmarks', 'benchmark_gpu_throughput.py')
BEGIN, END = '<!-- gpu-throughput:begin -->', '<!-- gpu-throughput:end -->'


def _run(*args):
    proc = subprocess.run([sys.executable, SCRIPT, *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout


def test_tiny_cpu_run_rows_and_readme_block(tmp_path, monkeypatch):
    out = tmp_path / 'gpu.json'
    stdout = _run('--device', 'cpu', '--tiny', '--pairs', 'mulsupcon', 'blocksimsiam',
                  '--batch', '4', '--warmup', '0', '--rounds', '2', '--iters', '1',
                  '--precisions', 'fp32', 'fp16', '--json', str(out))
    # mmengine's AMP wrapper needs a GPU: said, not silently dropped
    assert 'mulsupcon fp16: skipped' in stdout
    result = json.loads(out.read_text())
    rows = {row['pair']: row for row in result['rows']}
    assert set(rows) == {'mulsupcon', 'blocksimsiam'}
    assert [row['precision'] for row in result['rows']] == ['fp32', 'fp32']
    mulsupcon, block = rows['mulsupcon'], rows['blocksimsiam']
    # the same images for MulSupCon / MoCo v2; the same views for BlockSimSiam / SimSiam:
    # 8 block views per image -> 4 x the images with 2 views each
    assert (mulsupcon['batch'], mulsupcon['peer_batch'], mulsupcon['views_per_image']) == (4, 4, 2)
    assert (block['batch'], block['peer_batch'], block['views_per_image']) == (4, 16, 8)
    assert 'per_image_ratio_vs_stock' in block
    assert 'per_image_ratio_vs_stock' not in mulsupcon
    for row in rows.values():
        for key in ('ours_step_s', 'peer_step_s', 'ratio'):
            assert math.isfinite(row[key]), (key, row)
            assert row[key] > 0, (key, row)
        assert row['ratio'] == pytest.approx(row['peer_step_s'] / row['ours_step_s'])
        assert row['ours_nonfinite'] == 0
        assert row['ours_params_finite']
        assert row['steps'] == 0 + 1 + 2 * 1
    readme = tmp_path / 'README.md'
    readme.write_text(f'intro\n\n{BEGIN}\nold table\n{END}\n\nrest\n')
    # the formatting step in-process (no second interpreter start)
    monkeypatch.syspath_prepend(osp.dirname(SCRIPT))
    import benchmark_gpu_throughput
    monkeypatch.setattr(sys, 'argv', [SCRIPT, '--from-json', str(out), '--readme', str(readme)])
    benchmark_gpu_throughput.main()
    text = readme.read_text()
    assert 'old table' not in text
    assert text.startswith('intro')
    assert text.endswith('rest\n')
    block_text = text[text.index(BEGIN):text.index(END)]
    assert '| mulsupcon / mocov2 | fp32 |' in block_text
    assert 'simsiam fed the same views (16 images x 2)' in block_text
    assert f"commit {result['commit']}" in block_text


def test_readme_block_is_the_committed_gpu_result():
    """The README's GPU table is what the committed result file formats to (never typed)."""
    if osp.dirname(SCRIPT) not in sys.path:
        sys.path.insert(0, osp.dirname(SCRIPT))
    from benchmark_gpu_throughput import markdown
    with open(osp.join(REPO_ROOT, 'docs', 'benchmarks', 'gpu_throughput_h200.json')) as f:
        result = json.load(f)
    with open(osp.join(REPO_ROOT, 'README.md')) as f:
        text = f.read()
    block = text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip()
    assert block == markdown(result).strip()
