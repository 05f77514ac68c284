# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Issue 13, finding 2: a crash, kill or full disk during a checkpoint save loses no training.

Every test drives mmengine's own ``CheckpointHook`` / ``save_checkpoint`` (patched by
``import mlcl_plugin``) on a tiny linear model. ``test_finding2_killed_during_save_resumes``
runs this file as a script in a subprocess (``python test_atomic_checkpoint.py WORK_DIR kill``
then ``... resume``).
"""
import contextlib
import errno
import io
import itertools
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint, find_latest_checkpoint
from torch import nn
from torch.utils.data import Dataset

import mlcl_plugin  # noqa: F401  (applies the crash-safe saves)
from mlcl_plugin.engine import checkpoint_io

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_names = itertools.count()


class _Data(Dataset):

    def __len__(self):
        return 16

    def __getitem__(self, i):
        return dict(inputs=torch.tensor([i / 16, (i % 3) / 3, 1.0]),
                    target=torch.tensor(float(i % 2)))


class _Model(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 1)

    def forward(self, inputs, target, mode='loss'):
        out = self.fc(inputs).squeeze(1)
        if mode == 'loss':
            return dict(loss=((out - target) ** 2).mean())
        return list(out.detach())


class _RisingScore(BaseMetric):
    """A validation score that improves at every evaluation (1, 2, 3, ...)."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(len(data_samples))

    def compute_metrics(self, results):
        self.calls += 1
        return dict(score=float(self.calls))


class _Recorder(Hook):
    """Notes, at the start of every save, the files present and the weights being saved."""

    def __init__(self, folder):
        self.folder = str(folder)
        self.listings = []  # (iteration, is a best checkpoint, files present)
        self.weights = {}

    def before_save_checkpoint(self, runner, checkpoint):
        # save_best writes its checkpoints without the optimizer
        self.listings.append((checkpoint['meta']['iter'], 'optimizer' not in checkpoint,
                              sorted(os.listdir(self.folder))))
        self.weights[checkpoint['meta']['iter']] = {
            k: v.clone() for k, v in checkpoint['state_dict'].items()}


def _runner(work_dir, max_iters, *, resume=False, hooks=(), max_keep_ckpts=1, interval=1,
            save_best=None):
    torch.manual_seed(0)  # same initial weights for every runner
    loader = dict(dataset=_Data(), batch_size=2, num_workers=0,
                  collate_fn=dict(type='default_collate'))
    val = {}
    if save_best:
        val = dict(val_dataloader=dict(loader, sampler=dict(type='DefaultSampler',
                                                            shuffle=False)),
                   val_cfg=dict(), val_evaluator=[_RisingScore()])
    return Runner(
        model=_Model(),
        work_dir=str(work_dir),
        train_dataloader=dict(loader, sampler=dict(type='InfiniteSampler', shuffle=True)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=interval,
                            max_keep_ckpts=max_keep_ckpts, save_best=save_best, rule='greater'),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=list(hooks),
        resume=resume,
        default_scope='mmpretrain',
        randomness=dict(seed=0),
        experiment_name=f'atomic_ckpt_{os.getpid()}_{next(_names)}',
        **val)


def _temporary_files(folder):
    return [n for n in os.listdir(folder) if n.startswith('.') and n.endswith('.tmp')]


def _checkpoints(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith('.pth'))


def _last_checkpoint(folder):
    with open(osp.join(str(folder), 'last_checkpoint')) as f:
        return f.read()


def _assert_same_weights(actual, expected):
    assert actual.keys() == expected.keys()
    for key in expected:
        assert torch.equal(actual[key], expected[key]), key


@contextlib.contextmanager
def _file_size_limit(limit):
    """Writes beyond ``limit`` bytes fail with EFBIG, as a full disk fails them with ENOSPC."""
    resource = pytest.importorskip('resource')
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    try:
        handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not a kill
    except (AttributeError, ValueError):
        pytest.skip('needs SIGXFSZ in the main thread')
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_finding2_full_disk_during_overwrite_keeps_old_file(tmp_path):
    """Finding 2: a write that fails part-way (file size limit) leaves the previous content of
    the same checkpoint name intact and no temporary file; stock mmengine, run on the same fault
    as a control, is left with a truncated file under the final name."""
    from mmengine.runner.checkpoint import save_checkpoint

    old = dict(state_dict=dict(w=torch.arange(1000.0)))
    new = dict(state_dict=dict(w=torch.ones(1 << 20)))  # 4 MiB, 4 x the limit below
    ours, stock = tmp_path / 'ours' / 'epoch_1.pth', tmp_path / 'stock' / 'epoch_1.pth'
    save_checkpoint(old, str(ours))
    checkpoint_io.STOCK['save_checkpoint'](old, str(stock))
    assert ours.stat().st_size == stock.stat().st_size < (1 << 20)

    with _file_size_limit(1 << 20):
        with pytest.raises(OSError) as ours_error:
            save_checkpoint(new, str(ours))
        with pytest.raises(OSError):
            checkpoint_io.STOCK['save_checkpoint'](new, str(stock))
    assert ours_error.value.errno == errno.EFBIG
    assert ours_error.value.filename == str(ours)  # torch's own error would hide both

    assert torch.equal(_load_checkpoint(str(ours), map_location='cpu')['state_dict']['w'],
                       old['state_dict']['w'])
    assert os.listdir(ours.parent) == ['epoch_1.pth']  # no half file, no temporary file
    # the control: in place, the old checkpoint is gone and a half-written one took its name
    assert stock.stat().st_size == 1 << 20
    with pytest.raises(Exception):  # noqa: B017  (zip / unpickling errors vary with torch)
        _load_checkpoint(str(stock), map_location='cpu')


def test_finding2_failed_save_keeps_previous_checkpoint_and_resumes(tmp_path, monkeypatch):
    """Finding 2: with ``max_keep_ckpts=1`` a save of iteration 2 that raises half-way
    (ENOSPC after half the bytes) leaves iteration 1's checkpoint loadable, ``last_checkpoint``
    pointing at it and no half or temporary file; resuming from it redoes iteration 2 and
    reaches exactly the weights the failed save was writing (nothing lost)."""
    real_save = torch.save

    def save_half_then_fail(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and obj.get('meta', {}).get('iter') == 2:
            buffer = io.BytesIO()
            real_save(obj, buffer)
            f.write(buffer.getvalue()[:len(buffer.getvalue()) // 2])
            raise OSError(errno.ENOSPC, 'No space left on device (injected half-way)')
        return real_save(obj, f, *args, **kwargs)

    recorder = _Recorder(tmp_path)
    runner = _runner(tmp_path, 2, hooks=[recorder])
    monkeypatch.setattr(torch, 'save', save_half_then_fail)
    with pytest.raises(OSError, match='injected half-way') as error:
        runner.train()
    monkeypatch.undo()
    assert error.value.filename == osp.join(str(tmp_path), 'iter_2.pth')
    assert 'needs free space for one checkpoint more' in str(error.value)

    survivor = osp.join(str(tmp_path), 'iter_1.pth')
    assert _checkpoints(tmp_path) == ['iter_1.pth']
    assert not _temporary_files(tmp_path)
    assert _last_checkpoint(tmp_path) == survivor
    assert find_latest_checkpoint(str(tmp_path)) == survivor
    loaded = _load_checkpoint(survivor, map_location='cpu')
    assert loaded['meta']['iter'] == 1
    _assert_same_weights(loaded['state_dict'], recorder.weights[1])

    resumed = _runner(tmp_path, 2, resume=True)
    resumed.train()
    assert resumed.iter == 2
    assert _checkpoints(tmp_path) == ['iter_2.pth']
    assert not _temporary_files(tmp_path)
    final = _load_checkpoint(osp.join(str(tmp_path), 'iter_2.pth'), map_location='cpu')
    _assert_same_weights(final['state_dict'], recorder.weights[2])


def test_finding2_old_checkpoint_removed_only_after_new_one(tmp_path):
    """Finding 2: with ``max_keep_ckpts=1`` the previous checkpoint still exists while the
    next one is written, and after each complete save exactly one checkpoint remains, with the
    permissions ``open()`` gives and no temporary file."""
    recorder = _Recorder(tmp_path)
    runner = _runner(tmp_path, 3, hooks=[recorder])
    runner.train()

    present = [(it, [n for n in names if n.endswith('.pth')])
               for it, _, names in recorder.listings]
    assert present == [(1, []), (2, ['iter_1.pth']), (3, ['iter_2.pth'])]
    assert _checkpoints(tmp_path) == ['iter_3.pth']
    assert not _temporary_files(tmp_path)
    assert _last_checkpoint(tmp_path) == osp.join(str(tmp_path), 'iter_3.pth')
    with open(tmp_path / 'plain', 'wb'):
        pass
    assert (tmp_path / 'iter_3.pth').stat().st_mode == (tmp_path / 'plain').stat().st_mode
    assert runner.message_hub.get_info('keep_ckpt_ids') == [3]


def test_finding2_previous_best_removed_only_after_new_best(tmp_path):
    """Finding 2: ``save_best`` writes the new best checkpoint before it removes the previous
    best; one best and one regular checkpoint remain."""
    recorder = _Recorder(tmp_path)
    runner = _runner(tmp_path, 3, hooks=[recorder], save_best='score')
    runner.train()

    best_saves = [(it, names) for it, best, names in recorder.listings if best]
    assert [it for it, _ in best_saves] == [1, 2, 3]
    for it, names in best_saves[1:]:
        assert f'best_score_iter_{it - 1}.pth' in names, (it, names)
    assert _checkpoints(tmp_path) == ['best_score_iter_3.pth', 'iter_3.pth']
    assert not _temporary_files(tmp_path)
    assert _last_checkpoint(tmp_path) == osp.join(str(tmp_path), 'iter_3.pth')


def test_finding2_patch_idempotent_and_leaves_other_backends(tmp_path):
    """Finding 2: applying twice changes nothing; a non-local backend keeps mmengine's writer."""
    from mmengine.fileio import BaseStorageBackend, FileClient, register_backend
    from mmengine.runner.checkpoint import save_checkpoint

    class _MemoryBackend(BaseStorageBackend):
        files: dict = {}

        def get(self, filepath):
            return self.files[str(filepath)]

        def get_text(self, filepath, encoding='utf-8'):
            return self.files[str(filepath)].decode(encoding)

        def put(self, obj, filepath):
            self.files[str(filepath)] = obj

    assert checkpoint_io.apply_atomic_checkpoint_saves() is False
    assert save_checkpoint is checkpoint_io.atomic_save_checkpoint

    # stock save_checkpoint looks the prefix up in both of mmengine's backend registries
    for register in (register_backend, FileClient.register_backend):
        register('mlcl_finding2_memory', _MemoryBackend, force=True, prefixes='mlclfinding2mem')
    save_checkpoint(dict(w=torch.arange(3.0)), 'mlclfinding2mem://run/iter_1.pth')
    stored = _MemoryBackend.files['mlclfinding2mem://run/iter_1.pth']
    assert torch.equal(torch.load(io.BytesIO(stored), weights_only=True)['w'],
                       torch.arange(3.0))
    assert os.listdir(tmp_path) == []  # nothing went to the local disk


# ------------------------------------------------------------------------------------------
# A real process killed (SIGKILL) inside the save of iteration 4, then resumed.

class _KillWhenPickled:
    """Kills the process while ``torch.save`` serialises the checkpoint that holds it."""

    def __reduce__(self):
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError('still alive after SIGKILL')


class _KillDuringSave(Hook):

    def __init__(self, at_iter, expected_path):
        self.at_iter = at_iter
        self.expected_path = expected_path

    def before_save_checkpoint(self, runner, checkpoint):
        if checkpoint['meta']['iter'] == self.at_iter:
            # the weights this save would have kept: the resumed run must reach them again
            torch.save(checkpoint['state_dict'], self.expected_path)
            checkpoint['zz_kill'] = _KillWhenPickled()


def _subprocess_main(work_dir, mode):
    """``kill``: 4 iterations, checkpoints every 2, killed inside the save of iteration 4.
    ``resume``: ``resume=True`` (what ``tools/train.py --resume`` sets) up to iteration 4."""
    if mode == 'kill':
        hook = _KillDuringSave(4, osp.join(work_dir, 'expected_iter_4.pt'))
        _runner(work_dir, 4, interval=2, hooks=[hook]).train()
        raise AssertionError('the run was not killed')
    runner = _runner(work_dir, 4, interval=2, resume=True)
    runner.train()
    torch.save(runner.model.state_dict(), osp.join(work_dir, 'final.pt'))


def _run_script(work_dir, mode):
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([REPO_ROOT, os.environ.get('PYTHONPATH', '')]))
    return subprocess.run([sys.executable, osp.abspath(__file__), str(work_dir), mode],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(os.name != 'posix', reason='SIGKILL')
def test_finding2_killed_during_save_resumes(tmp_path):
    """Finding 2: a run SIGKILLed inside the save of iteration 4 (``max_keep_ckpts=1``) keeps
    iteration 2's checkpoint and ``last_checkpoint``; ``--resume`` continues from it and ends
    with exactly the weights the killed save was writing; the dead save's temporary file is
    cleaned up by the next complete save of that name."""
    killed = _run_script(tmp_path, 'kill')
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    survivor = osp.join(str(tmp_path), 'iter_2.pth')
    assert _checkpoints(tmp_path) == ['iter_2.pth']
    assert _last_checkpoint(tmp_path) == survivor
    assert _load_checkpoint(survivor, map_location='cpu')['meta']['iter'] == 2
    # killed inside the atomic write: its temporary file is all that is left of iteration 4
    assert [n.split('.pth.')[0] for n in _temporary_files(tmp_path)] == ['.iter_4']

    resumed = _run_script(tmp_path, 'resume')
    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log[-3000:]
    assert f'Load checkpoint from {survivor}' in log
    assert 'resumed epoch: 0, iter: 2' in log
    expected = torch.load(tmp_path / 'expected_iter_4.pt', weights_only=True)
    _assert_same_weights(torch.load(tmp_path / 'final.pt', weights_only=True), expected)
    assert _checkpoints(tmp_path) == ['iter_4.pth']
    assert _last_checkpoint(tmp_path) == osp.join(str(tmp_path), 'iter_4.pth')
    assert not _temporary_files(tmp_path)


if __name__ == '__main__':
    _subprocess_main(sys.argv[1], sys.argv[2])
