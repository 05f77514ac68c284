# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Fixes that stock mmengine 0.10.7 / mmcv 2.2 / mmpretrain 1.2 need on a current stack.

Each fix is applied once (idempotent), only where the installed versions need it, and is a
no-op otherwise. ``import mlcl_plugin`` calls :func:`apply_all`; every shipped config imports
the plugin through ``custom_imports``, i.e. before the runner initialises distributed
training, wraps the model, resumes or loads ``Pretrained`` weights (also inside each
``torchrun`` worker).

Fixes (the B numbers are short labels of the breakages, used in comments and tests):

* **B1 checkpoint loading, safely** — mmengine 0.10.7 calls ``torch.load`` with torch's default
  ``weights_only``: ``False`` before torch 2.6 (a crafted ``.pth`` runs its embedded code), and
  ``True`` from torch 2.6, which refuses mmengine's own checkpoints (they pickle
  ``HistoryBuffer`` and numpy objects), so ``--resume``, ``load_from`` and
  ``init_cfg=dict(type='Pretrained', ...)`` fail with ``UnpicklingError``. Every checkpoint
  that mmengine loads (local files, ``http(s)://`` and the schemes built on them) is loaded
  with ``weights_only=True`` plus :func:`checkpoint_allowlist` (exactly what our configs'
  checkpoints contain), and the loaded object is then checked for unexpected state
  (:func:`check_loaded_checkpoint`). Anything else is refused with
  :class:`UnsafeCheckpointError`, which names the file, what was refused and the opt-in:
  ``MLCL_TRUST_CHECKPOINTS=1`` loads with full pickle (issue 13, finding 1; see SECURITY.md).
* **B6 CPU ``--launcher pytorch``** — mmengine calls ``torch.cuda.set_device`` and uses NCCL;
  without an accelerator the process group is created with gloo and no device is set.
  (``--launcher slurm`` on CPU-only nodes is not covered: mmengine divides by the GPU count.)
* **B7 CPU DDP** — mmengine passes ``device_ids=[LOCAL_RANK]`` to DDP, which torch rejects for
  CPU modules; without CUDA ``device_ids``/``output_device`` are dropped. ``SyncBatchNorm``
  (GPU-only) is reverted to ``BatchNorm`` for CPU DDP with a warning, so GPU configs can be
  smoke-tested under ``torchrun`` on a CPU machine.
* **B2 numpy >= 2 ``adjust_hue``** — mmcv adds ``np.uint8(hue_factor * 255)`` which overflows for
  negative factors on numpy 2; the factor is passed as a float (same wrap-around result).
* **B3 numpy >= 2.4 ``np.in1d``** — removed from numpy, still used by mmpretrain's retrieval
  metrics; an equivalent built on ``np.isin`` is provided.
* **transformers >= 5** — mmpretrain imports its multimodal models (BLIP, CLIP, ...) whenever
  pycocotools and ``transformers>=4.28`` are installed. transformers 5 no longer exports
  ``apply_chunking_to_forward`` & co. from ``transformers.modeling_utils``; mmpretrain's bare
  ``except`` turns them into ``None`` and ``class BertPreTrainedModel(None)`` raises
  ``TypeError: NoneType takes no arguments``, so ``import mmpretrain.models`` fails (seen on an
  image with torch 2.11 + transformers 5.17). When those names do not import, mmpretrain's own
  switch ``WITH_MULTIMODAL`` is turned off before ``mmpretrain.models`` is imported: its
  placeholders then name the missing dependency if a multimodal model is built. Nothing in
  this plugin uses those models. Effective only when ``mlcl_plugin`` is imported before
  ``mmpretrain.models`` (the plugin's ``tools/*.py`` do so).
* **B8 dataset subsets share one deep-copy memo** (``subset_copy_memo``) — mmengine 0.10.7's
  ``BaseDataset._copy_without_annotation(self, memo=dict())``, which ``get_subset`` calls (e.g.
  in mmpretrain's ``KFoldDataset``, the validation carve-out of our VOC configs), has a mutable
  default: every subset copy in the process shares one ``deepcopy`` memo. The memo maps
  ``id(dataset)`` to its copy without keeping the dataset alive, so once that dataset is freed
  its id can be reused by a new object (a transform of the next dataset's pipeline), and the
  next ``get_subset`` copies that object as the old dataset: a pipeline whose "transform" is a
  ``VOC`` dataset (``TypeError: 'VOC' object is not callable``, seen in our test suite), or any
  other wrong object. It also keeps every object it ever copied alive. Each call now gets a
  fresh memo (an explicit ``memo`` is passed through).
* **Known noise, silenced at its source** (``quiet_known_noise``) — three messages that every
  run printed and that say nothing about the run: mmcv-lite's ``Fail to import
  MultiScaleDeformableAttention`` (a compiled op of full mmcv that nothing here uses; printed
  once per process that imports mmcv), torch's ``pin_memory ... no accelerator`` warning
  (printed at every validation of a config written for GPUs; on CPU pinning is a no-op) and
  mmengine's ``"FileClient" will be deprecated`` / ``"HardDiskBackend" is the alias`` notices
  (raised by mmengine's own checkpoint saving, not by a config). Only those exact messages are
  dropped; the pin-memory one only on a machine without an accelerator.

Opt out of any fix with ``MLCL_COMPAT_DISABLE=<name>[,<name>...]`` (the names of
:data:`_FIXES`, e.g. ``cpu_ddp``; ``all`` disables every fix); the fixes that were applied are
logged once per process (``mlcl_plugin.compat: applied ...``).
"""
import contextlib
import functools
import logging
import os
import os.path as osp
import pickle
import re
import threading
import warnings

import numpy as np
import torch

_APPLIED: dict = {}
# devices for which mmengine's own launcher and DDP wrapping already work
_ACCELERATORS = ('cuda', 'npu', 'mlu', 'musa')


def _on_accelerator() -> bool:
    from mmengine.device import get_device

    return get_device() in _ACCELERATORS


def _torch_version() -> tuple:
    return tuple(int(p) for p in torch.__version__.split('+')[0].split('.')[:2])


def _numpy_version() -> tuple:
    return tuple(int(p) for p in np.__version__.split('.')[:2] if p.isdigit())


TRUST_ENV = 'MLCL_TRUST_CHECKPOINTS'
# values of TRUST_ENV that opt in; anything else (unset, '', '0', 'no') keeps the allowlist
_TRUE = ('1', 'true', 'yes')
# HistoryBuffer pickles its class-level statistics table as getattr(HistoryBuffer, name)
_HISTORY_STATISTICS = ('min', 'max', 'current', 'mean')
_HISTORY_ATTRIBUTES = frozenset(('max_length', '_log_history', '_count_history'))
# numpy 1 pickles name numpy.core.multiarray, numpy 2 pickles numpy._core.multiarray
_NUMPY_MULTIARRAY_NAMES = ('numpy.core.multiarray', 'numpy._core.multiarray')
# fixed-size bool, int, uint and float dtypes ('l'/'q' and 'L'/'Q' are int64 / uint64 on
# Linux / Windows); no object, string, void, datetime or complex dtype
_NUMERIC_TYPECODES = '?bBhHiIlLqQefd'
_NUMERIC_KINDS = 'biuf'
# torch >= 2.6 allowlists an object under a given pickle name (the numpy 1 and 2 spellings)
_NAMED_ALLOWLIST = _torch_version() >= (2, 6)
_STATE = threading.local()  # nesting depth of guarded loads in this thread
# the allowlist is registered with torch process-wide while a load runs: one load at a time,
# so that one thread's exit cannot unregister it under another thread's load
_LOAD_LOCK = threading.Lock()


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs more than the allowlist, or carries unexpected state.

    The message names the file, what was refused and how to opt in (``MLCL_TRUST_CHECKPOINTS=1``).
    """


class _Refused(Exception):
    """Raised inside the unpickler by the ``getattr`` stand-in; torch re-wraps only
    ``UnpicklingError``, so this one reaches :func:`_guarded_load` with its own message."""


def checkpoints_trusted() -> bool:
    """Whether the user opted in to full-pickle checkpoint loading.

    Returns:
        bool: True when the environment variable ``MLCL_TRUST_CHECKPOINTS`` is ``1`` (or
        ``true`` / ``yes``); read at every load, so it also reaches ``torchrun`` workers.
    """
    return os.environ.get(TRUST_ENV, '').strip().lower() in _TRUE


def _history_buffer():
    from mmengine.logging.history_buffer import HistoryBuffer

    return HistoryBuffer


def _history_statistic(owner, name):
    """Stand-in for ``builtins.getattr`` while a checkpoint is unpickled.

    mmengine's ``HistoryBuffer.__getstate__`` stores its statistics table as
    ``getattr(HistoryBuffer, 'min')`` & co.; a real ``getattr`` would hand a pickle any
    attribute of any allowlisted object (``__globals__``, ``__self__``, ...). Only the four
    default statistics of ``HistoryBuffer`` are served.

    Args:
        owner: the object the pickle asks an attribute of.
        name: the attribute name.

    Returns:
        function: ``HistoryBuffer.min`` / ``max`` / ``current`` / ``mean``.
    """
    if owner is _history_buffer() and name in _HISTORY_STATISTICS:
        return getattr(owner, name)
    owner_name = owner.__qualname__ if isinstance(owner, type) else type(owner).__qualname__
    raise _Refused(f'the call getattr({owner_name}, {str(name)[:60]!r}) (only '
                   f'getattr(HistoryBuffer, one of {list(_HISTORY_STATISTICS)}) is allowed)')


def _numpy_multiarray():
    # numpy >= 1.26 has both names (numpy.core is deprecated in numpy 2), numpy 1.24/1.25 only
    # numpy.core
    try:
        from numpy._core import multiarray
    except ImportError:
        from numpy.core import multiarray
    return multiarray


def checkpoint_allowlist() -> list:
    """The globals a checkpoint may contain beyond torch's own weights-only set.

    Found by scanning the checkpoints that tiny runs of the shipped configs write (every kind
    of model, loop, optimiser, scheduler, EMA / early-stopping / best-checkpoint hook) with
    ``torch.serialization.get_unsafe_globals_in_checkpoint``; see SECURITY.md for each entry.

    Returns:
        list[tuple]: ``(object, pickle name)`` pairs for ``torch.serialization.safe_globals``.
    """
    multiarray = _numpy_multiarray()
    entries = [
        (_history_buffer(), 'mmengine.logging.history_buffer.HistoryBuffer'),
        (_history_statistic, 'builtins.getattr'),
        (np.ndarray, 'numpy.ndarray'),
        (np.dtype, 'numpy.dtype'),
    ]
    for module in _NUMPY_MULTIARRAY_NAMES:
        entries.append((multiarray._reconstruct, f'{module}._reconstruct'))
        entries.append((multiarray.scalar, f'{module}.scalar'))
    # a pickled dtype is rebuilt with BUILD on an instance of its class (numpy.dtypes.*),
    # which torch allows only for allowlisted classes
    for cls in sorted({type(np.dtype(code)) for code in _NUMERIC_TYPECODES},
                      key=lambda c: c.__qualname__):
        entries.append((cls, f'{cls.__module__}.{cls.__qualname__}'))
    return entries


def _numeric_dtype(dtype) -> bool:
    return (isinstance(dtype, np.dtype) and dtype.kind in _NUMERIC_KINDS
            and not dtype.hasobject and dtype.fields is None and dtype.subdtype is None
            and dtype.metadata is None)


def _unexpected_state(obj):
    """Why an allowlisted object is not what mmengine writes, or None if it is."""
    history_buffer = _history_buffer()
    if isinstance(obj, history_buffer):
        state = vars(obj)
        if type(obj) is not history_buffer or set(state) != _HISTORY_ATTRIBUTES:
            return (f'a HistoryBuffer with attributes {sorted(state)} (expected '
                    f'{sorted(_HISTORY_ATTRIBUTES)})')
        logs, counts = state['_log_history'], state['_count_history']
        if type(state['max_length']) is not int or state['max_length'] < 1:
            return f'a HistoryBuffer with max_length {state["max_length"]!r:.60}'
        for value in (logs, counts):
            if type(value) is not np.ndarray or value.ndim != 1 or not _numeric_dtype(
                    value.dtype):
                return (f'a HistoryBuffer whose history is a {type(value).__name__} '
                        f'(expected a 1-d numeric numpy array)')
        if len(logs) != len(counts):
            return f'a HistoryBuffer with {len(logs)} values but {len(counts)} counts'
        return None
    if isinstance(obj, np.ndarray):
        if type(obj) is not np.ndarray or not _numeric_dtype(obj.dtype):
            return f'a numpy {type(obj).__name__} of dtype {obj.dtype} (only numeric arrays)'
        return None
    if isinstance(obj, np.generic):
        return None if _numeric_dtype(obj.dtype) else f'a numpy scalar of dtype {obj.dtype}'
    if isinstance(obj, np.dtype):
        return None if _numeric_dtype(obj) else f'the numpy dtype {obj}'
    return None


def check_loaded_checkpoint(obj) -> None:
    """Check that the allowlisted objects of a loaded checkpoint carry only expected state.

    ``weights_only=True`` restricts which classes a pickle may name, not what state it gives
    them: a ``HistoryBuffer`` can receive any attributes, an array can have an object dtype.
    Walks dicts, lists, tuples and sets (shared and cyclic references once each).

    Args:
        obj: what ``torch.load`` returned.

    Raises:
        UnsafeCheckpointError: naming the position (e.g. ``['message_hub']['log_scalars']``)
            and what is unexpected there; the caller adds the file name.
    """
    seen = set()
    stack = [(obj, '')]
    while stack:
        item, path = stack.pop()
        if id(item) in seen or isinstance(item, (str, bytes, int, float, torch.Tensor)):
            continue
        seen.add(id(item))
        problem = _unexpected_state(item)
        if problem:
            raise UnsafeCheckpointError(f'{path or "the top-level object"} is {problem}')
        if isinstance(item, dict):
            for key, value in item.items():
                stack.append((key, f'{path} (a key)'))
                stack.append((value, f'{path}[{str(key)[:60]!r}]'))
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend((value, f'{path}[{i}]') for i, value in enumerate(item))


def _opt_in_text() -> str:
    return (f'If you trust this file and where it came from, set the environment variable '
            f'{TRUST_ENV}=1 (e.g. `{TRUST_ENV}=1 python tools/train.py ...`): every checkpoint '
            'of that process is then loaded with full pickle (torch.load(weights_only=False)),'
            ' which can run code embedded in the file. See SECURITY.md.')


def _refused_globals(local_path):
    """The globals of a local checkpoint that the allowlist refuses (a scan, no unpickling)."""
    scan = getattr(torch.serialization, 'get_unsafe_globals_in_checkpoint', None)
    if local_path is None or scan is None:
        return []
    try:
        return sorted(scan(local_path))
    except Exception:  # a legacy (non-zip) or unreadable file: the torch message must do
        return []


def _refusal(source, local_path, reason) -> UnsafeCheckpointError:
    refused = _refused_globals(local_path)
    if refused:
        what = 'the pickled global(s) ' + ', '.join(f'`{name}`' for name in refused)
    else:
        match = re.search(r'GLOBAL (\S+?)\.? ', reason)
        first_line = reason.strip().splitlines()[0] if reason.strip() else reason
        what = f'the pickled global `{match.group(1)}`' if match else first_line
    if not _NAMED_ALLOWLIST:
        what += (f' (torch {torch.__version__} < 2.6 cannot allowlist classes by pickle name, '
                 'so mmengine checkpoints with message-hub state need torch >= 2.6 or the '
                 'opt-in)')
    return UnsafeCheckpointError(
        f"Refused to load checkpoint {source}: it needs {what}, which is not on mlcl_plugin's "
        "allowlist (checkpoints are loaded with torch.load(weights_only=True) plus mmengine's "
        f'HistoryBuffer and numeric numpy arrays, dtypes and scalars). {_opt_in_text()}')


def _statistics_snapshot() -> dict:
    return dict(_history_buffer()._statistics_methods)


def _restore_statistics(before: dict) -> bool:
    """Undo changes a checkpoint made to ``HistoryBuffer``'s class-level statistics table
    (``HistoryBuffer.__setstate__`` updates it from the pickle); True if it was changed."""
    history_buffer = _history_buffer()
    table = history_buffer._statistics_methods
    changed = False
    for key, value in table.items():
        default = key in _HISTORY_STATISTICS and value is getattr(history_buffer, key)
        if not default and not (key in before and before[key] is value):
            changed = True
    if changed:
        table.clear()
        table.update(before)
    return changed


def _allowlist_context():
    registered = set(torch.serialization.get_safe_globals())
    missing = [entry for entry in checkpoint_allowlist() if entry not in registered]
    return torch.serialization.safe_globals(missing)


def _guarded_load(load, source, local_path=None):
    """Run ``load()`` (which calls ``torch.load``) under the allowlist, then check the result.

    Nested calls (a scheme loader inside ``CheckpointLoader.load_checkpoint``) only run
    ``load()``: the outermost call checks once.

    Args:
        load (callable): no arguments, returns the loaded checkpoint.
        source (str): the file name or URL, for messages.
        local_path (str, optional): the local file, to list every refused global in a message.

    Returns:
        The loaded checkpoint.
    """
    if getattr(_STATE, 'depth', 0):
        return load()
    trusted = checkpoints_trusted()
    if trusted:
        from mmengine.logging import print_log

        print_log(f'{TRUST_ENV}=1: loading {source} with full pickle (weights_only=False); '
                  'do this only for files whose origin you trust', logger='current',
                  level=logging.WARNING)
    _STATE.depth = 1
    before = _statistics_snapshot()
    try:
        checkpoint = load() if trusted else _load_allowlisted(load, source, local_path)
    except BaseException:
        _restore_statistics(before)
        raise
    finally:
        _STATE.depth = 0
    if _restore_statistics(before) and not trusted:
        raise UnsafeCheckpointError(
            f"Refused checkpoint {source}: it changed the statistics methods of mmengine's "
            f'HistoryBuffer class (now restored). {_opt_in_text()}')
    return checkpoint


def _load_allowlisted(load, source, local_path):
    """``load()`` under the allowlist, failures named, then the state check (see
    :func:`_guarded_load` for the arguments)."""
    with _LOAD_LOCK, (_allowlist_context() if _NAMED_ALLOWLIST else contextlib.nullcontext()):
        try:
            checkpoint = load()
        except _Refused as exc:
            raise _refusal(source, local_path, str(exc)) from None
        except pickle.UnpicklingError as exc:
            if 'weights only' in str(exc).lower():
                raise _refusal(source, local_path, _torch_reason(str(exc))) from None
            _raise_named(exc, source)
        except (RuntimeError, EOFError, ValueError, OSError) as exc:
            _raise_named(exc, source)
    try:
        check_loaded_checkpoint(checkpoint)
    except UnsafeCheckpointError as exc:
        raise UnsafeCheckpointError(
            f'Refused checkpoint {source}: {exc}, which mmengine never writes. '
            f'{_opt_in_text()}') from None
    return checkpoint


def _torch_reason(message: str) -> str:
    # torch prefixes the unpickler's reason with advice to pass weights_only=False; keep the
    # reason (e.g. 'Unsupported global: GLOBAL posix.system ...')
    for line in message.splitlines():
        if 'GLOBAL' in line or 'Unsupported' in line or 'Trying to' in line or 'Can only' in line:
            return line.strip()
    return message.strip().splitlines()[0] if message.strip() else message


def _raise_named(exc: BaseException, source: str) -> None:
    """Re-raise a load failure (corrupt, truncated, missing file) with the checkpoint's name."""
    if str(source) in str(exc):
        raise exc
    try:
        renamed = type(exc)(f'checkpoint {source} could not be loaded: {exc}')
    except Exception:  # an exception class with another signature
        renamed = RuntimeError(f'checkpoint {source} could not be loaded: {exc!r}')
    raise renamed from exc


def load_local_checkpoint(filename, map_location=None):
    """Load a local checkpoint file under the policy of SECURITY.md.

    ``weights_only=True`` plus :func:`checkpoint_allowlist` and :func:`check_loaded_checkpoint`,
    or full pickle when :func:`checkpoints_trusted`.

    Args:
        filename (str): path (``~`` is expanded).
        map_location: as for ``torch.load``.

    Returns:
        The loaded checkpoint.

    Raises:
        FileNotFoundError: the file does not exist (named).
        UnsafeCheckpointError: refused (the message names the file and the opt-in).
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return _guarded_load(
        lambda: torch.load(filename, map_location=map_location,
                           weights_only=not checkpoints_trusted()),
        filename, local_path=filename)


def _load_url(url, model_dir=None, map_location=None, progress=True, check_hash=False,
              file_name=None):
    """mmengine's ``load_url`` for ``http(s)://`` (and ``torchvision://``, ``mmcls://``,
    ``open-mmlab://`` URLs): torch's hub download and cache, but ``weights_only`` as above
    (``torch.hub`` defaults to ``weights_only=False``)."""
    from torch.hub import load_state_dict_from_url

    return _guarded_load(
        lambda: load_state_dict_from_url(url, model_dir=model_dir, map_location=map_location,
                                         progress=progress, check_hash=check_hash,
                                         file_name=file_name,
                                         weights_only=not checkpoints_trusted()),
        url)


def _fix_checkpoint_loading() -> bool:
    """B1: every checkpoint mmengine loads goes through the allowlisted loader (finding 1)."""
    from mmengine.runner import checkpoint as ckpt_mod

    loader_cls = ckpt_mod.CheckpointLoader
    original = loader_cls.load_checkpoint.__func__
    if getattr(original, '_mlcl_safe', False):
        return True

    def load_from_local(filename, map_location):  # the name must start with load_from_
        return load_local_checkpoint(filename, map_location)

    @functools.wraps(original)
    def load_checkpoint(cls, filename, map_location=None, logger='current'):
        # the other schemes (pavi://, s3://, open-mmlab:// local files) call torch.load with
        # torch's default weights_only, which is True from torch 2.6: the allowlist and the
        # check apply to them too
        local = osp.expanduser(str(filename))
        return _guarded_load(lambda: original(cls, filename, map_location, logger), filename,
                             local_path=local if osp.isfile(local) else None)

    load_checkpoint._mlcl_safe = True
    loader_cls.register_scheme(prefixes='', loader=load_from_local, force=True)
    loader_cls.load_checkpoint = classmethod(load_checkpoint)
    # load_from_http (and the schemes that call it) look load_url up in this module
    ckpt_mod.load_url = _load_url
    return True


def _fix_cpu_launcher() -> bool:
    """B6: ``--launcher pytorch`` on a machine without CUDA uses gloo and sets no device."""
    import mmengine.dist.utils as dist_utils
    import torch.distributed as torch_dist

    original = dist_utils._init_dist_pytorch

    @functools.wraps(original)
    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if _on_accelerator():
            return original(backend, init_backend=init_backend, **kwargs)
        if init_backend != 'torch':
            raise ValueError(
                f'init_backend={init_backend!r} needs CUDA; on a CPU machine only '
                "init_backend='torch' (gloo) is supported")
        torch_dist.init_process_group(backend='gloo' if backend == 'nccl' else backend,
                                      **kwargs)

    dist_utils._init_dist_pytorch = _init_dist_pytorch
    return True


def cpu_ddp_arguments(module: torch.nn.Module, kwargs: dict) -> tuple:
    """DDP arguments for a CPU module: no ``device_ids``/``output_device``, no SyncBN.

    Args:
        module (nn.Module): the model about to be wrapped.
        kwargs (dict): keyword arguments mmengine passes to DDP.

    Returns:
        tuple: ``(module, kwargs)`` to pass on; SyncBN layers reverted to BN with a warning.
    """
    kwargs = dict(kwargs, device_ids=None)
    kwargs.pop('output_device', None)
    if any(isinstance(m, torch.nn.SyncBatchNorm) for m in module.modules()):
        warnings.warn('SyncBatchNorm only works on GPUs: reverted to BatchNorm for this CPU '
                      'distributed run (statistics are per process).', stacklevel=3)
        from mmengine.model import revert_sync_batchnorm
        module = revert_sync_batchnorm(module)
    return module, kwargs


def _fix_cpu_ddp() -> bool:
    """B7 (+B8): wrap CPU modules in DDP without ``device_ids`` and without SyncBN."""
    from mmengine.model import MMDistributedDataParallel

    original = MMDistributedDataParallel.__init__

    @functools.wraps(original)
    def __init__(self, module, detect_anomalous_params=False, **kwargs):
        if not _on_accelerator():
            module, kwargs = cpu_ddp_arguments(module, kwargs)
        original(self, module, detect_anomalous_params, **kwargs)

    MMDistributedDataParallel.__init__ = __init__
    return True


def _fix_numpy2_adjust_hue() -> bool:
    """B2: mmcv ``adjust_hue`` overflows ``np.uint8`` on numpy >= 2 for negative factors."""
    if _numpy_version() < (2, 0):
        return False
    import mmcv
    import mmcv.image
    import mmcv.image.photometric as photometric

    original = photometric.adjust_hue

    @functools.wraps(original)
    def adjust_hue(img, hue_factor, backend=None):
        return original(img, np.float64(hue_factor), backend=backend)

    # mmpretrain's ColorJitter calls ``mmcv.adjust_hue``; patch every public alias
    for module in (mmcv, mmcv.image, photometric):
        module.adjust_hue = adjust_hue
    return True


def in1d(ar1, ar2, assume_unique=False, invert=False, **kwargs):
    """numpy < 2.4 ``np.in1d``: membership of the flattened ``ar1`` in ``ar2``."""
    return np.isin(np.asarray(ar1).ravel(), ar2, assume_unique=assume_unique, invert=invert,
                   **kwargs)


def _fix_numpy_in1d() -> bool:
    """B3: numpy >= 2.4 removed ``np.in1d`` that mmpretrain's retrieval metrics call."""
    if hasattr(np, 'in1d'):
        return False
    np.in1d = in1d  # noqa: NPY201  (restoring the removed name is the point)
    return True


def _multimodal_importable() -> bool:
    """Whether the transformers names that mmpretrain's BLIP models import at module level
    exist (they were removed from ``transformers.modeling_utils`` in transformers 5)."""
    try:
        from transformers.modeling_utils import (  # noqa: F401
            PreTrainedModel,
            apply_chunking_to_forward,
            find_pruneable_heads_and_indices,
            prune_linear_layer,
        )
    except Exception:  # ImportError, or whatever a broken transformers install raises
        return False
    return True


def _fix_transformers5_multimodal() -> bool:
    """Keep ``import mmpretrain.models`` working next to transformers >= 5 (see above)."""
    import sys

    from mmpretrain.utils import dependency

    if not dependency.WITH_MULTIMODAL or 'mmpretrain.models' in sys.modules:
        return False
    if _multimodal_importable():
        return False
    dependency.WITH_MULTIMODAL = False
    warnings.warn("mlcl_plugin: the installed transformers lacks names that mmpretrain 1.2's "
                  "multimodal models import; mmpretrain's multimodal models are disabled "
                  '(WITH_MULTIMODAL=False) so that mmpretrain.models imports', stacklevel=2)
    return True


def _fix_subset_copy_memo() -> bool:
    """B8: a fresh deep-copy memo for each ``BaseDataset._copy_without_annotation`` call."""
    import inspect

    from mmengine.dataset import BaseDataset

    original = BaseDataset._copy_without_annotation
    if getattr(original, '_mlcl_fresh_memo', False):
        return True
    memo = inspect.signature(original).parameters.get('memo')
    if memo is None or not isinstance(memo.default, dict):
        return False  # a release without the shared default

    @functools.wraps(original)
    def _copy_without_annotation(self, memo=None):
        return original(self, {} if memo is None else memo)

    _copy_without_annotation._mlcl_fresh_memo = True
    BaseDataset._copy_without_annotation = _copy_without_annotation
    return True


# (category, message regex) of the warnings dropped by _quiet_known_noise
_MMCV_LITE_NOTICE = r'Fail to import ``MultiScaleDeformableAttention``'
_PIN_MEMORY_NOTICE = r".*'pin_memory' argument is set as true but no accelerator is found"
_FILE_CLIENT_NOTICES = ('"FileClient" will be deprecated in future',
                        '"HardDiskBackend" is the alias of "LocalBackend"')


def _quiet_known_noise() -> bool:
    """Drop the three known, meaningless notices at their source (see the module doc)."""
    # a filter, not a patch of mmcv: it must be in place before mmcv.cnn is first imported,
    # which ``import mlcl_plugin`` precedes in the plugin's tools and in custom_imports
    warnings.filterwarnings('ignore', message=_MMCV_LITE_NOTICE, category=UserWarning)
    if not _on_accelerator():
        warnings.filterwarnings('ignore', message=_PIN_MEMORY_NOTICE, category=UserWarning)
    from mmengine.fileio import file_client

    original = file_client.print_log
    if getattr(original, '_mlcl_quiet', False):
        return True

    @functools.wraps(original)
    def print_log(msg, *args, **kwargs):
        if isinstance(msg, str) and msg.startswith(_FILE_CLIENT_NOTICES):
            return None
        return original(msg, *args, **kwargs)

    print_log._mlcl_quiet = True
    file_client.print_log = print_log
    return True


_FIXES = {
    # first: the other fixes import parts of mmpretrain, this one must precede mmpretrain.models
    'transformers5_multimodal': _fix_transformers5_multimodal,
    'checkpoint_weights_only': _fix_checkpoint_loading,
    'cpu_launcher': _fix_cpu_launcher,
    'cpu_ddp': _fix_cpu_ddp,
    'numpy2_adjust_hue': _fix_numpy2_adjust_hue,
    'numpy_in1d': _fix_numpy_in1d,
    'subset_copy_memo': _fix_subset_copy_memo,
    'quiet_known_noise': _quiet_known_noise,
}
DISABLE_ENV = 'MLCL_COMPAT_DISABLE'


def disabled_fixes() -> set:
    """The fixes the user switched off through ``MLCL_COMPAT_DISABLE`` (names or ``all``).

    Raises:
        ValueError: a name that is not a fix, naming it and the valid names.
    """
    names = {n.strip() for n in os.environ.get(DISABLE_ENV, '').split(',') if n.strip()}
    if 'all' in names:
        return set(_FIXES)
    unknown = sorted(names - set(_FIXES))
    if unknown:
        raise ValueError(f'{DISABLE_ENV}={os.environ[DISABLE_ENV]!r}: unknown fix(es) {unknown}; '
                         f'valid names: {sorted(_FIXES)} or "all"')
    return names


def apply_all() -> dict:
    """Apply every fix once.

    Returns:
        dict: fix name -> whether it patched something in this process (``False`` when the
        installed versions do not need it). Calling again returns the same dict unchanged.
    """
    if _APPLIED:
        return dict(_APPLIED)
    off = disabled_fixes()
    if 'checkpoint_weights_only' in off:
        warnings.warn(f'{DISABLE_ENV} switched off the allowlisted checkpoint loader: mmengine '
                      "loads checkpoints with torch's default weights_only (False before torch "
                      '2.6: a crafted .pth runs code; see SECURITY.md)', stacklevel=2)
    for name, fix in _FIXES.items():
        _APPLIED[name] = False if name in off else fix()
    from mmengine.logging import print_log
    applied = [n for n, done in _APPLIED.items() if done]
    print_log(f'mlcl_plugin.compat: applied {", ".join(applied) or "no fix"}'
              + (f'; disabled by {DISABLE_ENV}: {", ".join(sorted(off))}' if off else '')
              + f' (opt out: {DISABLE_ENV}=<name>[,<name>])', logger='current',
              level=logging.INFO)
    return dict(_APPLIED)
