# Copyright (c) mlcl_plugin authors. All rights reserved.
"""tools/benchmarks/orchestration.py: the plumbing every benchmark / reproduction script shares."""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from tests.tiny_run import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'benchmarks'))
import orchestration as orch


def _scalars(work, run, entries):
    path = osp.join(work, run, 'vis_data')
    os.makedirs(path)
    with open(osp.join(path, 'scalars.json'), 'w') as f:
        f.write('\n'.join(json.dumps(e) for e in entries) + '\n')


def test_atomic_write_and_marked_block(tmp_path):
    path = str(tmp_path / 'README.md')
    orch.atomic_write_text(path, 'intro\n<!-- b -->\nold\n<!-- e -->\nend\n')
    orch.replace_marked_block(path, '<!-- b -->', '<!-- e -->', ['new 1', 'new 2'])
    assert open(path).read() == 'intro\n<!-- b -->\nnew 1\nnew 2\n<!-- e -->\nend\n'
    assert os.listdir(tmp_path) == ['README.md']  # no temporary file left behind
    with pytest.raises(ValueError, match='README.md has no <!-- x -->'):
        orch.replace_marked_block(path, '<!-- x -->', '<!-- e -->', [])
    orch.atomic_write_json(str(tmp_path / 'r.json'), {'a': 1})
    assert json.load(open(tmp_path / 'r.json')) == {'a': 1}


def test_git_commit_dirty_ignores_the_callers_own_outputs(tmp_path, monkeypatch):
    repo = tmp_path / 'repo'
    (repo / 'docs').mkdir(parents=True)
    for name in ('code.py', 'docs/ledger.json', 'README.md'):
        (repo / name).write_text('v1\n')
    for var, value in (('GIT_AUTHOR_NAME', 't'), ('GIT_AUTHOR_EMAIL', 't@t'),
                       ('GIT_COMMITTER_NAME', 't'), ('GIT_COMMITTER_EMAIL', 't@t')):
        monkeypatch.setenv(var, value)
    git = ['git', '-C', str(repo)]
    subprocess.run(git + ['init', '-q'], check=True)
    subprocess.run(git + ['add', '.'], check=True)
    subprocess.run(git + ['commit', '-qm', 'c'], check=True)
    head = subprocess.run(git + ['rev-parse', '--short', 'HEAD'], check=True,
                          capture_output=True, text=True).stdout.strip()
    ledger, readme = str(repo / 'docs' / 'ledger.json'), str(repo / 'README.md')
    assert orch.git_commit(True, repo=str(repo)) == head
    (repo / 'docs' / 'ledger.json').write_text('v2\n')
    (repo / 'README.md').write_text('v2\n')
    assert orch.git_commit(True, repo=str(repo)) == head + '+dirty'
    assert orch.git_commit(False, repo=str(repo)) == head
    # the caller's ledger and README, given relative to another working directory
    monkeypatch.chdir(tmp_path)
    assert orch.git_commit(True, outputs=(osp.relpath(ledger), readme, None),
                           repo=str(repo)) == head
    assert orch.git_commit(True, outputs=(ledger, ), repo=str(repo)) == head + '+dirty'
    subprocess.run(git + ['add', 'README.md'], check=True)  # staged counts too
    assert orch.git_commit(True, outputs=(ledger, ), repo=str(repo)) == head + '+dirty'
    (repo / 'code.py').write_text('v2\n')
    assert orch.git_commit(True, outputs=(ledger, readme), repo=str(repo)) == head + '+dirty'
    (tmp_path / 'not-a-repo').mkdir()
    assert orch.git_commit(True, repo=str(tmp_path / 'not-a-repo')) == 'unknown'


def test_run_raises_with_the_log_tail(tmp_path):
    log = str(tmp_path / 'x.log')
    seconds = orch.run([sys.executable, '-c', 'print("hello")'], log, echo=False)
    assert seconds > 0
    assert 'hello' in open(log).read()
    with pytest.raises(RuntimeError, match=r'(?s)exit 3.*x\.log.*boom'):
        orch.run([sys.executable, '-c', 'import sys; print("boom"); sys.exit(3)'], log,
                 echo=False)


def test_scalars_metrics_and_loader_stats(tmp_path):
    work = str(tmp_path)
    with pytest.raises(FileNotFoundError, match='no .*scalars.json'):
        orch.read_scalars(work)
    _scalars(work, '20260101_000000', [
        {'loss': 1.0, 'time': 9.0, 'data_time': 9.0, 'iter': 1},  # start-up, dropped
        {'loss': 0.9, 'time': 1.0, 'data_time': 0.1, 'iter': 2},
        {'multi-label/mAP': 10.0, 'step': 1},
    ])
    _scalars(work, '20260101_000100', [  # the resumed run
        {'loss': 0.8, 'time': 3.0, 'data_time': 0.3, 'iter': 3},
        {'multi-label/mAP': 20.0, 'multi-label/CF1': 5.0, 'step': 2},
    ])
    assert len(orch.read_scalars(work)) == 5
    assert orch.last_metrics(work) == {'mAP': 20.0, 'CF1': 5.0}
    step, wait = orch.train_log_stats(work)
    assert step == pytest.approx(2.0)
    assert wait == pytest.approx(0.1)
    _scalars(work, '20260101_000200', [{'loss': float('nan'), 'iter': 4}])
    with pytest.raises(RuntimeError, match=r'000200/vis_data/scalars.json line 1: non-finite'):
        orch.train_log_stats(work)
    with pytest.raises(RuntimeError, match='holds no multi-label'):
        orch.last_metrics(work)


def test_checkpoints(tmp_path):
    (tmp_path / 'epoch_2.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert orch.last_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    assert orch.best_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    (tmp_path / 'best_mAP_epoch_1.pth').write_bytes(b'')
    assert orch.best_checkpoint(str(tmp_path)) == str(tmp_path / 'best_mAP_epoch_1.pth')


def test_cached_record_moves_a_stale_unit_aside(tmp_path):
    work = tmp_path / 'unit'
    work.mkdir()
    assert orch.cached_record(str(work), 'k1') is None  # nothing saved yet: run it
    orch.atomic_write_json(str(work / 'result.json'), {'unit_key': 'k1', 'mAP': 3.0})
    assert orch.cached_record(str(work), 'k1')['mAP'] == 3.0
    assert orch.cached_record(str(work), 'k2') is None
    assert not work.exists()
    stale, = glob.glob(str(tmp_path / 'unit.stale-*'))
    assert json.load(open(osp.join(stale, 'result.json')))['mAP'] == 3.0  # kept, not deleted


def test_default_data_root_follows_the_environment(monkeypatch):
    monkeypatch.setenv('MLCL_SHARED_DATA', '/somewhere/data')
    assert orch.default_data_root('peta') == '/somewhere/data/peta'
    monkeypatch.delenv('MLCL_SHARED_DATA')
    assert orch.default_data_root() == osp.join(osp.dirname(REPO_ROOT), 'shared', 'data')


def test_no_script_bypasses_the_shared_plumbing():
    """The scripts under tools/ locate the shared data and start stock tools only through this
    module (one implementation to fix), and none trains outside tools/train.py."""
    own = osp.join(REPO_ROOT, 'tools', 'benchmarks', 'orchestration.py')
    examples = osp.join(REPO_ROOT, 'tools', 'examples')  # user-facing loops, self-contained
    # times mmengine's train_step itself, side by side with mmpretrain's (not a training run)
    step_timer = osp.join(REPO_ROOT, 'tools', 'benchmarks', 'benchmark_gpu_throughput.py')
    offenders = []
    for path in glob.glob(osp.join(REPO_ROOT, 'tools', '**', '*.py'), recursive=True):
        if path == own or path.startswith(examples):
            continue
        code = open(path).read()
        if re.search(r"'shared',\s*'data'|MLCL_SHARED_DATA'", code):
            offenders.append(f'{path}: locates the shared data itself')
        starts_tools = re.search(r"['\"](tools/)?(train|test)\.py['\"]", code)
        if starts_tools and re.search(r"subprocess\.\w+\((?!\[\s*'(git|tar)')", code):
            offenders.append(f'{path}: starts a stock tool itself')
        if path != step_timer and re.search(r'\.train_step\(|optimizer\.step\(\)', code):
            offenders.append(f'{path}: trains outside tools/train.py')
    assert not offenders, '\n'.join(offenders)


def test_mean_std_cells():
    import numpy as np

    values = [57.14, 57.81, 56.93, None]
    kept = [v for v in values if v is not None]
    assert orch.mean_std(values) == f'{np.mean(kept):.1f} +- {np.std(kept, ddof=1):.1f}'
    assert orch.mean_std([41.26]) == '41.3'
    assert orch.mean_std([None]) == '-'


def test_logged_run_seconds_sums_the_runs_of_a_resumed_unit(tmp_path):
    """A pretraining resumed twice spent the time of all three runs (the killed ones up to
    their last log line), not only the last run's."""
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        orch.logged_run_seconds(str(tmp_path))
    for stamp, lines in (('20261201_032658', ['2026/12/01 03:26:59 - mmengine - INFO - a',
                                              '  continued line without a time',
                                              '2026/12/01 03:34:58 - mmengine - INFO - b']),
                         ('20261201_033558', ['2026/12/01 03:36:00 - mmengine - INFO - c',
                                              '2026/12/01 04:12:30 - mmengine - INFO - d']),
                         ('20261201_041300', [])):
        (tmp_path / stamp).mkdir()
        (tmp_path / stamp / f'{stamp}.log').write_text('\n'.join(lines) + '\n')
    # not a run: other folders and files
    (tmp_path / 'vis_data').mkdir()
    (tmp_path / 'vis_data' / 'vis_data.log').write_text('2026/12/01 09:00:00 x\n')
    (tmp_path / 'train.log').write_text('2026/12/01 09:00:00 x\n')
    assert orch.logged_run_seconds(str(tmp_path)) == (8 * 60) + (36 * 60 + 32) + 0
