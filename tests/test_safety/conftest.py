# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Fixtures of the safety tests (issue 13, findings 1 and 9).

``run_tool`` runs this repository's ``tools/train.py`` / ``tools/test.py`` as ``__main__`` in a
forked child of the test process: the same script, arguments, exit status and output as a
fresh ``python tools/x.py`` (an uncaught exception exits 1), without paying the ~5 s of
importing torch, mmengine and mmpretrain again for every run.
"""
import multiprocessing
import os
import os.path as osp
import runpy
import sys
import traceback

import pytest

from tests.tiny_run import REPO_ROOT


def _child(script, argv, env, out_path):
    out = open(out_path, 'w', buffering=1)
    os.dup2(out.fileno(), 1)
    os.dup2(out.fileno(), 2)
    sys.stdout = sys.stderr = out
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    sys.argv = [script] + list(argv)
    code = 0
    try:
        runpy.run_path(script, run_name='__main__')
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
        code = 1
    out.flush()
    os._exit(code)


@pytest.fixture(scope='module')
def run_tool(tmp_path_factory):
    """``run_tool('train.py', *args, env={'NAME': value or None})`` -> (exit code, output)."""
    if 'fork' not in multiprocessing.get_all_start_methods():
        pytest.skip('needs the fork start method')
    context = multiprocessing.get_context('fork')
    out_dir = tmp_path_factory.mktemp('tool_output')
    count = [0]

    def run(name, *argv, env=None, timeout=300):
        count[0] += 1
        out_path = out_dir / f'{name}.{count[0]}.out'
        # the variable this suite tests must not leak in from the environment
        env = dict({'MLCL_TRUST_CHECKPOINTS': None}, **(env or {}))
        sys.stdout.flush()
        sys.stderr.flush()
        child = context.Process(
            target=_child, args=(osp.join(REPO_ROOT, 'tools', name), argv, env, out_path))
        child.start()
        child.join(timeout)
        if child.is_alive():
            child.kill()
            child.join()
            pytest.fail(f'tools/{name} {" ".join(argv)} did not finish in {timeout} s')
        return child.exitcode, out_path.read_text()

    return run


@pytest.fixture
def trusted(monkeypatch):
    """Opt in to full-pickle loading (``MLCL_TRUST_CHECKPOINTS=1``) for one test."""
    monkeypatch.setenv('MLCL_TRUST_CHECKPOINTS', '1')


@pytest.fixture(autouse=True)
def _not_trusted_by_default(monkeypatch):
    monkeypatch.delenv('MLCL_TRUST_CHECKPOINTS', raising=False)
