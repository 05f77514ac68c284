# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Crash-safe checkpoint saving for every mmengine run that imports the plugin.

Stock mmengine 0.10.7 loses the last good checkpoint when a save is interrupted (issue 13,
finding 2):

* ``mmengine.runner.checkpoint.save_checkpoint`` serialises into memory and then opens the
  final file with ``'wb'`` (truncating any file of that name) and writes it in place; a kill or
  a full disk part-way leaves a half file under the final name;
* ``CheckpointHook._save_checkpoint_with_step`` deletes the oldest kept checkpoint *before* it
  writes the new one, so with ``max_keep_ckpts=1`` no complete checkpoint exists while a save
  runs; ``_save_best_checkpoint`` deletes the previous best before writing the new best;
* ``last_checkpoint`` is rewritten in place (``open(..., 'w')`` truncates first).

Importing this module (``import mlcl_plugin`` does) replaces exactly these three steps:

* local checkpoint files are written to a hidden temporary file in the same folder, flushed
  and fsynced, then renamed onto the final name with ``os.replace`` and the folder is fsynced;
  a failed save removes its temporary file and leaves the previous file untouched. Other
  backends (``pavi://``, petrel, http, custom ones) and the deprecated ``file_client_args``
  path go to mmengine's own writer unchanged (an object store's ``put`` is atomic anyway);
* the hook writes the new checkpoint, then ``last_checkpoint`` (atomically, the same way), and
  only then removes checkpoints beyond ``max_keep_ckpts`` and the previous best checkpoint.
  A crash between the steps leaves at worst one old checkpoint too many, never none.

The patch is idempotent and can be undone with :func:`restore_stock_checkpoint_saves`
(benchmarks and tests compare against stock that way).

Cost: the checkpoint is streamed straight into the temporary file instead of through an
in-memory copy, which pays for the fsync on local disks; ``tools/benchmarks/
benchmark_checkpoint_save.py`` times stock against this side by side.
"""
import errno
import functools
import inspect
import locale
import os
import os.path as osp
import re
import secrets
import sys
from typing import BinaryIO, Callable, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.fileio import get_file_backend
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.runner import checkpoint as _ckpt_mod

__all__ = [
    'write_file_atomically', 'write_text_atomically', 'atomic_save_checkpoint',
    'apply_atomic_checkpoint_saves', 'restore_stock_checkpoint_saves'
]

# hidden temporary files: '.<final name>.<pid>.<8 hex>.tmp' in the folder of the final file
_TMP_SUFFIX = '.tmp'
# mmengine's originals, filled by the first apply (the benchmark and restore use them)
STOCK: dict = {}
_MARK = '_mlcl_atomic_checkpoint'
_NO_SPACE = {errno.ENOSPC, getattr(errno, 'EDQUOT', errno.ENOSPC)}


def _temporary_name(path: str) -> str:
    return osp.join(osp.dirname(path),
                    f'.{osp.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}{_TMP_SUFFIX}')


def _leftover_pattern(path: str) -> 're.Pattern':
    return re.compile(re.escape(f'.{osp.basename(path)}.') + r'\d+\.[0-9a-f]{8}'
                      + re.escape(_TMP_SUFFIX) + '$')


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass  # already gone, or the folder went away with it: nothing left to clean


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (POSIX); a no-op where folders cannot be opened."""
    if os.name != 'posix':
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some network file systems refuse fsync on a folder; the rename still happened
    finally:
        os.close(fd)


def _remove_leftovers(path: str) -> None:
    """Remove temporary files that an interrupted earlier save of ``path`` left behind.

    Called right after ``path`` itself was replaced, so a leftover can only belong to a save of
    the same name that died (a second live writer of one file name is not supported anyway).
    """
    directory = osp.dirname(path)
    pattern = _leftover_pattern(path)
    try:
        entries = [e.name for e in os.scandir(directory) if pattern.match(e.name)]
    except OSError:
        return
    for name in entries:
        _remove_quietly(osp.join(directory, name))


class _KeepWriteError:
    """Binary file wrapper that remembers the first ``OSError`` of ``write``.

    torch's zip writer, closing the archive after a failed write, raises a ``RuntimeError``
    ('unexpected pos ...') that hides the real cause (no space left, file too large); the kept
    error lets :func:`write_file_atomically` report the cause instead.
    """

    def __init__(self, file):
        self._file = file
        self.error: Optional[OSError] = None

    def write(self, data):
        try:
            return self._file.write(data)
        except OSError as error:
            if self.error is None:
                self.error = error
            raise

    def __getattr__(self, name):
        return getattr(self._file, name)


def write_file_atomically(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Write a file so that ``path`` always holds either its old or its complete new content.

    ``write`` fills a temporary file in the same folder, which is flushed, fsynced and renamed
    onto ``path`` (``os.replace``); the folder is then fsynced so the rename survives a power
    loss. If anything fails before the rename, the temporary file is removed, ``path`` is
    untouched and the error is raised (an ``OSError`` names ``path``). A symlink at ``path`` is
    followed, as ``open`` would. Temporary files left by earlier, killed writes of the same name
    are removed after a successful write.

    Args:
        path (str): final file name; missing parent folders are created.
        write (Callable[[BinaryIO], None]): called once with the open binary temporary file.

    Raises:
        OSError: the write, fsync or rename failed (full disk, file size limit, permissions);
            ``errno`` is the original one and ``filename`` is ``path``.
    """
    path = osp.abspath(os.fspath(path))
    if osp.islink(path):
        path = osp.realpath(path)
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = _temporary_name(path)
    try:
        # 0o666 and the umask, as open(path, 'wb') would create it (mkstemp would give 0o600)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_BINARY', 0),
                     0o666)
    except OSError as error:
        raise OSError(error.errno, f'{error.strerror}: cannot create the temporary file '
                      f'{osp.basename(tmp)} next to it', path) from error
    file = None
    try:
        with os.fdopen(fd, 'wb') as raw:
            file = _KeepWriteError(raw)
            write(file)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        _remove_quietly(tmp)
        cause = file.error if file is not None and file.error is not None else exc
        if isinstance(cause, OSError):
            raise OSError(cause.errno, f'{cause.strerror or cause}; nothing was written to this '
                          'file, its previous content (if any) is unchanged', path) from exc
        raise
    _fsync_directory(osp.dirname(path))
    _remove_leftovers(path)


def write_text_atomically(path: str, text: str, encoding: Optional[str] = None) -> None:
    """:func:`write_file_atomically` for a text file.

    Args:
        path (str): final file name.
        text (str): the whole new content.
        encoding (str, optional): defaults to the locale's, which is what ``open(path)`` (and so
            mmengine's ``find_latest_checkpoint``) reads with.
    """
    data = text.encode(encoding or locale.getpreferredencoding(False))
    write_file_atomically(path, lambda f: f.write(data))


def _local_checkpoint_path(filename, file_client_args, backend_args) -> Optional[str]:
    """The local file name ``save_checkpoint`` would write, or None to leave it to mmengine."""
    if file_client_args is not None or not isinstance(filename, (str, os.PathLike)):
        return None  # the deprecated FileClient path (and bad arguments) stay with mmengine
    filename = os.fspath(filename)
    if filename.startswith('pavi://'):
        return None
    try:
        backend = get_file_backend(filename, backend_args=backend_args)
    except Exception:
        return None  # mmengine raises its own, clearer error for a bad backend
    # a subclass that overrides put (e.g. to mirror files elsewhere) keeps its own writer
    if isinstance(backend, LocalBackend) and type(backend).put is LocalBackend.put:
        return filename
    return None


def atomic_save_checkpoint(checkpoint, filename, file_client_args=None, backend_args=None):
    """Drop-in for ``mmengine.runner.checkpoint.save_checkpoint``: local files atomically.

    Args:
        checkpoint (dict): what ``torch.save`` writes.
        filename (str): checkpoint file name or URI.
        file_client_args (dict, optional): deprecated mmengine argument; when given, mmengine's
            own writer is used.
        backend_args (dict, optional): mmengine file-backend arguments; a non-local backend
            uses mmengine's own writer.
    """
    path = _local_checkpoint_path(filename, file_client_args, backend_args)
    if path is None:
        return STOCK['save_checkpoint'](checkpoint, filename, file_client_args=file_client_args,
                                        backend_args=backend_args)
    try:
        # straight into the file: stock's in-memory copy costs about what the fsync costs
        write_file_atomically(path, lambda f: torch.save(checkpoint, f))
    except OSError as error:
        if error.errno not in _NO_SPACE:
            raise
        raise OSError(error.errno, f'{error.strerror} (a new checkpoint is complete before it '
                      'replaces an old one and old checkpoints are removed only after that, so '
                      'a save needs free space for one checkpoint more than are kept)',
                      error.filename) from error


setattr(atomic_save_checkpoint, _MARK, True)


def _remove_checkpoint(backend, path: str) -> None:
    if backend.isfile(path):
        backend.remove(path)
    elif backend.isdir(path):  # deepspeed checkpoints are folders
        backend.rmtree(path)


def _current_paths(hook) -> set:
    """Checkpoints the hook refers to right now (never removed, even if named for removal)."""
    paths = {hook.last_ckpt, getattr(hook, 'best_ckpt_path', None)}
    paths.update((getattr(hook, 'best_ckpt_path_dict', None) or {}).values())
    return {str(p) for p in paths if p}


def _save_checkpoint_with_step(self, runner, step, meta):
    """``CheckpointHook._save_checkpoint_with_step`` with removal after the save.

    Same bookkeeping as mmengine 0.10.7 (``keep_ckpt_ids`` in the message hub, ``last_ckpt``),
    but the order is: write the new checkpoint, write ``last_checkpoint`` atomically, then
    remove the checkpoint that falls out of ``max_keep_ckpts``.

    Args:
        runner (Runner): the runner being trained.
        step (int): epoch or iteration number in the file name.
        meta (dict): meta information stored in the checkpoint.
    """
    outgoing = []
    if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
        # the message hub saved in the new checkpoint must already list the kept steps
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            outgoing.append(self.keep_ckpt_ids.popleft())
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

    ckpt_filename = self.filename_tmpl.format(step)
    self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
    runner.message_hub.update_info('last_ckpt', self.last_ckpt)
    runner.save_checkpoint(
        self.out_dir,
        ckpt_filename,
        self.file_client_args,
        save_optimizer=self.save_optimizer,
        save_param_scheduler=self.save_param_scheduler,
        meta=meta,
        by_epoch=self.by_epoch,
        backend_args=self.backend_args,
        **self.args)

    if not is_main_process():
        return
    write_text_atomically(osp.join(runner.work_dir, 'last_checkpoint'), str(self.last_ckpt))
    keep = _current_paths(self)
    for old_step in outgoing:
        old_path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old_step))
        if str(old_path) not in keep:
            _remove_checkpoint(self.file_backend, old_path)


class _RemovalsAfterSave:
    """Stands in for ``CheckpointHook.file_backend`` during a save: removals are recorded, not
    done, and :meth:`commit` does them once the save has returned."""

    def __init__(self, backend):
        self._backend = backend
        self._pending: list = []

    def remove(self, path):
        self._pending.append(path)

    def rmtree(self, path):
        self._pending.append(path)

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def commit(self, keep: set) -> None:
        for path in self._pending:
            if str(path) not in keep:
                _remove_checkpoint(self._backend, path)


def _wrap_save_best(original):

    @functools.wraps(original)
    def _save_best_checkpoint(self, runner, metrics):
        backend = self.file_backend
        deferred = _RemovalsAfterSave(backend)
        self.file_backend = deferred
        try:
            original(self, runner, metrics)
        finally:
            self.file_backend = backend
        # only reached when the new best checkpoint (and last_checkpoint) are complete
        deferred.commit(_current_paths(self))

    setattr(_save_best_checkpoint, _MARK, True)
    return _save_best_checkpoint


setattr(_save_checkpoint_with_step, _MARK, True)


def _hook_layout_known() -> bool:
    """Whether ``CheckpointHook`` has the 0.10.x internals the replacement relies on."""
    try:
        source = inspect.getsource(CheckpointHook._save_checkpoint_with_step)
    except (AttributeError, OSError, TypeError):
        return False
    return 'keep_ckpt_ids' in source and hasattr(CheckpointHook, '_save_best_checkpoint')


def _modules_holding(function) -> list:
    """mmengine modules that bound ``function`` at import (``from .checkpoint import ...``)."""
    return [name for name, module in list(sys.modules.items())
            if name.split('.')[0] == 'mmengine'
            and getattr(module, 'save_checkpoint', None) is function]


def apply_atomic_checkpoint_saves() -> bool:
    """Make mmengine's checkpoint saves crash-safe in this process (see the module docstring).

    Returns:
        bool: True if this call patched something, False if it was already applied.
    """
    if getattr(_ckpt_mod.save_checkpoint, _MARK, False):
        return False
    STOCK['save_checkpoint'] = _ckpt_mod.save_checkpoint
    for name in _modules_holding(STOCK['save_checkpoint']):
        sys.modules[name].save_checkpoint = atomic_save_checkpoint
    if _hook_layout_known():
        STOCK['_save_checkpoint_with_step'] = CheckpointHook._save_checkpoint_with_step
        STOCK['_save_best_checkpoint'] = CheckpointHook._save_best_checkpoint
        CheckpointHook._save_checkpoint_with_step = _save_checkpoint_with_step
        CheckpointHook._save_best_checkpoint = _wrap_save_best(
            STOCK['_save_best_checkpoint'])
    return True


def restore_stock_checkpoint_saves() -> bool:
    """Undo :func:`apply_atomic_checkpoint_saves` (for side-by-side benchmarks and tests).

    Returns:
        bool: True if stock behaviour was restored, False if the patch was not applied.
    """
    if not getattr(_ckpt_mod.save_checkpoint, _MARK, False):
        return False
    for name in _modules_holding(atomic_save_checkpoint):
        sys.modules[name].save_checkpoint = STOCK['save_checkpoint']
    for attr in ('_save_checkpoint_with_step', '_save_best_checkpoint'):
        if attr in STOCK:
            setattr(CheckpointHook, attr, STOCK.pop(attr))
    return True


apply_atomic_checkpoint_saves()
