# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The README main job runs end to end (here with a tiny schedule) and prints both rows."""
import subprocess
import sys

from tests.tiny_run import REPO_ROOT


def test_main_job_smoke(tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text(
        'before\n<!-- main-job:begin -->\nold output\n<!-- main-job:end -->\nafter\n')
    proc = subprocess.run(
        [sys.executable, 'tools/run_main_job.py', '--epochs', '1', '--probe-epochs', '1',
         '--num-train', '128', '--num-test', '32', '--work-dir', str(tmp_path / 'wd'),
         '--data-root', str(tmp_path / 'toy'), '--readme', str(readme)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert '| MulSupCon-pretrained' in out
    assert '| random init' in out
    assert 'mAP gain from pretraining' in out
    assert (tmp_path / 'wd' / 'summary.json').is_file()
    block = readme.read_text()
    assert 'old output' not in block
    assert block.startswith('before\n')
    assert block.endswith('after\n')
    assert '| MulSupCon-pretrained' in block
    assert 'whole job' in block
