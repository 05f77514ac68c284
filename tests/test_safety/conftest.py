# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Fixtures of the safety tests (issue 13, findings 1 and 9).

``run_tool`` runs this repository's ``tools/train.py`` / ``tools/test.py`` in a fresh Python
process, as a user would: these checks concern what a process does from its start, so they
do not use the warm server of tests/warm_launcher.py. (Forking the test process itself would
save the imports but can deadlock: a fork of a process whose torch thread pool is running can
hang in the child.)
"""
import os
import os.path as osp
import subprocess
import sys

import pytest

from tests.tiny_run import REPO_ROOT


@pytest.fixture(scope='module')
def run_tool():
    """``run_tool('train.py', *args, env={'NAME': value or None})`` -> (exit code, output)."""

    def run(name, *argv, env=None, timeout=300):
        full_env = dict(os.environ)
        # the variable this suite tests must not leak in from the environment
        full_env.pop('MLCL_TRUST_CHECKPOINTS', None)
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = value
        cmd = [sys.executable, osp.join(REPO_ROOT, 'tools', name), *map(str, argv)]
        try:
            proc = subprocess.run(cmd, cwd=REPO_ROOT, env=full_env, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f'tools/{name} {" ".join(map(str, argv))} did not finish in '
                        f'{timeout} s')
        return proc.returncode, proc.stdout + proc.stderr

    return run


@pytest.fixture
def trusted(monkeypatch):
    """Opt in to full-pickle loading (``MLCL_TRUST_CHECKPOINTS=1``) for one test."""
    monkeypatch.setenv('MLCL_TRUST_CHECKPOINTS', '1')


@pytest.fixture(autouse=True)
def _not_trusted_by_default(monkeypatch):
    monkeypatch.delenv('MLCL_TRUST_CHECKPOINTS', raising=False)
