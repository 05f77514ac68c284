# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Fixes that stock mmengine 0.10.7 / mmcv 2.2 / mmpretrain 1.2 need on a current stack.

Each fix is applied once (idempotent), only where the installed versions need it, and is a
no-op otherwise. ``import mlcl_plugin`` calls :func:`apply_all`; every shipped config imports
the plugin through ``custom_imports``, i.e. before the runner initialises distributed
training, wraps the model, resumes or loads ``Pretrained`` weights (also inside each
``torchrun`` worker).

Fixes (numbers refer to the breakage table of the project's dependency notes):

* **B1 checkpoint loading** — torch >= 2.6 defaults ``torch.load(weights_only=True)``, while
  mmengine 0.10.7 pickles ``HistoryBuffer`` and numpy objects into its checkpoints, so
  ``--resume``, ``load_from`` and ``init_cfg=dict(type='Pretrained', ...)`` fail with
  ``UnpicklingError``. The local-file loader is re-registered with ``weights_only=False``
  (mmengine checkpoints are trusted local files, as in mmengine's own later fix #1670).
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
"""
import functools
import os.path as osp
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


def _fix_checkpoint_loading() -> bool:
    """B1: load mmengine's own (trusted, local) checkpoints under torch >= 2.6."""
    import inspect

    from mmengine.runner import checkpoint as ckpt_mod

    if _torch_version() < (2, 6):
        return False
    original = ckpt_mod.CheckpointLoader._schemes.get('')
    if original is not None and 'weights_only' in inspect.getsource(original):
        return False  # this mmengine already passes weights_only itself

    def load_from_local(filename, map_location):  # the name must start with load_from_
        filename = osp.expanduser(filename)
        if not osp.isfile(filename):
            raise FileNotFoundError(f'{filename} can not be found.')
        return torch.load(filename, map_location=map_location, weights_only=False)

    ckpt_mod.CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
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


_FIXES = {
    # first: the other fixes import parts of mmpretrain, this one must precede mmpretrain.models
    'transformers5_multimodal': _fix_transformers5_multimodal,
    'checkpoint_weights_only': _fix_checkpoint_loading,
    'cpu_launcher': _fix_cpu_launcher,
    'cpu_ddp': _fix_cpu_ddp,
    'numpy2_adjust_hue': _fix_numpy2_adjust_hue,
    'numpy_in1d': _fix_numpy_in1d,
}


def apply_all() -> dict:
    """Apply every fix once.

    Returns:
        dict: fix name -> whether it patched something in this process (``False`` when the
        installed versions do not need it). Calling again returns the same dict unchanged.
    """
    for name, fix in _FIXES.items():
        if name not in _APPLIED:
            _APPLIED[name] = fix()
    return dict(_APPLIED)
