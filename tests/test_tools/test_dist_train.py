# Copyright (c) mlcl_plugin authors. All rights reserved.
"""`tools/dist_train.sh CONFIG 2` (torchrun, gloo on CPU) runs a shipped config end to end."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
from mmengine.config import Config

from tests.tiny_run import REPO_ROOT, make_tiny

PRETRAIN = 'configs/toy_shapes/mulsupcon_resnet18-w16_1xb64-coslr-15e_toyshapes.py'


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_dist_train_two_processes_on_cpu(coco128, toy_root, voc_root, tmp_path):
    data = {'coco128': coco128, 'toy': toy_root, 'voc': voc_root}
    cfg = make_tiny(Config.fromfile(osp.join(REPO_ROOT, PRETRAIN)), data, str(tmp_path),
                    num_samples=16)
    # the shipped GPU setting (SyncBN) is reverted to BN for CPU DDP by the plugin
    cfg.model.backbone.norm_cfg = dict(type='SyncBN')
    path = tmp_path / 'cfg.py'
    cfg.dump(str(path))
    env = dict(os.environ, PORT=str(_free_port()), OMP_NUM_THREADS='1', PYTHON=sys.executable)
    proc = subprocess.run(
        ['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), str(path), '2',
         '--work-dir', str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert 'Distributed training: True' in log
    assert "'world_size': 2" in log or 'world_size: 2' in log or 'GPU number: 2' in log
    assert osp.isfile(tmp_path / 'epoch_1.pth')


@pytest.mark.parametrize(('script', 'args', 'launcher'), [
    ('dist_train.sh', ['cfg.py', '2'], 'torch.distributed.run'),
    ('dist_test.sh', ['cfg.py', 'ckpt.pth', '2'], 'torch.distributed.run'),
    ('slurm_train.sh', ['partition', 'job', 'cfg.py', 'work'], 'srun'),
])
def test_launch_scripts_write_import_cache_before_workers(tmp_path, script, args, launcher):
    """On a fresh machine (empty user cache) yapf's grammar pickles exist when the workers are
    launched: the script writes them from one process first, so concurrent workers never read
    a half-written one. The launcher is a stand-in that records what it found and exits."""
    cache, found = tmp_path / 'cache', tmp_path / 'found'
    record = f'find "{cache}" -name "*Grammar*.pickle" | wc -l > "{found}"; exit 0'
    shim = tmp_path / 'python'
    shim.write_text('#!/usr/bin/env bash\n'
                    f'if [ "$1 $2" = "-m {launcher}" ]; then {record}; fi\n'
                    f'exec "{sys.executable}" "$@"\n')
    srun = tmp_path / 'srun'
    srun.write_text(f'#!/usr/bin/env bash\n{record}\n')
    for exe in (shim, srun):
        exe.chmod(0o755)
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHON=str(shim),
               PATH=f'{tmp_path}{os.pathsep}{os.environ["PATH"]}')
    proc = subprocess.run(['bash', osp.join(REPO_ROOT, 'tools', script), *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert int(found.read_text()) == 2, found.read_text()
