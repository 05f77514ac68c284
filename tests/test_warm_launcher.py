# Copyright (c) mlcl_plugin authors. All rights reserved.
"""tests/warm_launcher.py: a stock tool started from the warm server behaves as one started by
``subprocess.run`` (output, exit code, timeout), and what it cannot serve goes cold."""
import os.path as osp
import subprocess
import sys

import pytest

from tests import warm_launcher
from tests.tiny_run import REPO_ROOT, one_thread_env

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')


@pytest.fixture
def cold_calls(monkeypatch):
    """The commands that went to ``subprocess.run`` (cold) during the test."""
    calls = []
    original = subprocess.run

    def spy(cmd, **kwargs):
        calls.append(cmd)
        return original(cmd, **kwargs)

    monkeypatch.setattr(warm_launcher.subprocess, 'run', spy)
    return calls


def test_warm_run_prints_and_exits_as_a_fresh_process():
    cmd = [sys.executable, TRAIN, '--help']
    warm = warm_launcher.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True,
                             env=one_thread_env(), timeout=300)
    cold = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True,
                          env=one_thread_env(), timeout=300)
    assert warm.returncode == cold.returncode == 0
    assert warm.stdout.startswith('usage: train.py')
    assert warm.stdout in cold.stdout  # cold also prints the plugin's import-time line
    server = warm_launcher._servers[tuple(sorted(one_thread_env().items()))]
    assert server.ready
    assert server.proc.poll() is None
    # a failing run: exit code 1 (an uncaught exception), its traceback in its own stderr
    warm = warm_launcher.run([sys.executable, TRAIN, 'no_such_config.py'], cwd=REPO_ROOT,
                             capture_output=True, text=True, env=one_thread_env(), timeout=300)
    assert warm.returncode == 1
    assert "No such file or directory: 'no_such_config.py'" in warm.stderr
    assert 'Traceback' in warm.stderr


def test_output_appended_to_a_named_log(tmp_path):
    log_path = tmp_path / 'run.log'
    with open(log_path, 'a') as log:
        log.write('$ header\n')
        log.flush()
        proc = warm_launcher.run([sys.executable, 'tools/train.py', '--help'], cwd=REPO_ROOT,
                                 stdout=log, stderr=subprocess.STDOUT, env=one_thread_env())
    assert proc.returncode == 0
    text = log_path.read_text()
    assert text.startswith('$ header\nusage: train.py')


def test_timeout_kills_the_run_and_the_server_serves_the_next(tmp_path):
    cfg = tmp_path / 'sleepy.py'
    cfg.write_text('import time\ntime.sleep(120)\n')
    with pytest.raises(subprocess.TimeoutExpired):
        warm_launcher.run([sys.executable, TRAIN, str(cfg)], cwd=REPO_ROOT,
                          capture_output=True, text=True, env=one_thread_env(), timeout=3)
    proc = warm_launcher.run([sys.executable, TRAIN, '--help'], cwd=REPO_ROOT,
                             capture_output=True, text=True, env=one_thread_env(), timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.startswith('usage: train.py')


def test_what_it_cannot_serve_runs_cold(cold_calls):
    calls = cold_calls
    # not a stock tool
    proc = warm_launcher.run([sys.executable, '-c', 'print(7)'], capture_output=True,
                             text=True)
    assert proc.stdout == '7\n'
    assert len(calls) == 1
    # the opt-out
    env = dict(one_thread_env(), MLCL_TESTS_COLD_TOOLS='1')
    proc = warm_launcher.run([sys.executable, TRAIN, '--help'], cwd=REPO_ROOT,
                             capture_output=True, text=True, env=env)
    assert proc.returncode == 0
    assert len(calls) == 2
    # output to the parent's own stdout cannot be handed to the server
    proc = warm_launcher.run([sys.executable, TRAIN, '--help'], cwd=REPO_ROOT,
                             stdout=subprocess.DEVNULL, env=one_thread_env())
    assert proc.returncode == 0
    assert len(calls) == 3


def test_a_server_with_a_running_thread_pool_is_not_used(cold_calls):
    """Without OMP_NUM_THREADS=1, importing torch starts a second thread: the server refuses
    to fork and every run goes cold (no hang)."""
    env = one_thread_env()
    env.pop('OMP_NUM_THREADS')
    env.pop('MKL_NUM_THREADS')
    calls = cold_calls
    proc = warm_launcher.run([sys.executable, TRAIN, '--help'], cwd=REPO_ROOT,
                             capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0
    assert len(calls) == 1
    server = warm_launcher._servers[tuple(sorted(env.items()))]
    assert server.ready is False


def test_warm_run_writes_the_config_and_checkpoint_meta_a_cold_run_writes(shared_data, tmp_path):
    """The warm server formats each config text once per run (yapf); what the run writes, the
    dumped config and the config in the checkpoint's meta, is byte for byte a cold run's."""
    import torch
    from mmengine.config import Config

    from tests.tiny_run import make_tiny, tiny_checkpoint_name

    cfg = make_tiny(Config.fromfile(osp.join(
        REPO_ROOT, 'configs', 'mulsupcon_vector', 'mulsupcon_mlp_1xb64-adam-150k_yeast.py')),
        {'shared': shared_data}, str(tmp_path))
    cfg.dump(str(tmp_path / 'cfg.py'))
    written = {}
    for how, run in (('warm', warm_launcher.run), ('cold', subprocess.run)):
        work = tmp_path / how
        proc = run([sys.executable, TRAIN, str(tmp_path / 'cfg.py'), '--work-dir', str(work)],
                   cwd=REPO_ROOT, capture_output=True, text=True, env=one_thread_env(),
                   timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        meta = torch.load(work / tiny_checkpoint_name(cfg), map_location='cpu',
                          weights_only=False)['meta']
        # the work dirs differ by name only
        written[how] = tuple(text.replace(str(work), 'WORK')
                             for text in ((work / 'cfg.py').read_text(), meta['cfg']))
    assert written['warm'] == written['cold']
    assert "type='MultiLabelMoCo'" in written['warm'][1]
    assert "work_dir = 'WORK'" in written['warm'][0]
