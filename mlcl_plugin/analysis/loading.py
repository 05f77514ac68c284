# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Configs, checkpoints and test sets for the analysis tools, with errors that name the input.

Checkpoints go through mmengine's ``CheckpointLoader``, which ``import mlcl_plugin`` routes to
the plugin's allowlisted ``weights_only=True`` loader (:mod:`mlcl_plugin.compat`; opt-in
``MLCL_TRUST_CHECKPOINTS=1``): never a full-pickle ``torch.load``.
"""
import copy
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch


def load_config(path: str, cfg_options: Optional[dict] = None):
    """Read an mmengine config file.

    Args:
        path (str): the config ``.py`` (a shipped config or the copy a run saved in its
            work dir), or a config of an installed OpenMMLab package as
            ``'mmpretrain::resnet/resnet50_8xb32_in1k.py'``.
        cfg_options (dict, optional): ``key.sub=value`` overrides, as ``--cfg-options``.

    Returns:
        mmengine.Config: the config.

    Raises:
        FileNotFoundError: ``path`` does not exist (named).
    """
    from mmengine.config import Config

    if '::' in path:
        # Config.fromfile reads files only; mmengine's hub resolves `package::` names (the
        # configs an OpenMMLab package installs), offline
        from mmengine.hub import get_config

        try:
            cfg = get_config(path)
        except (FileNotFoundError, ModuleNotFoundError, ValueError) as err:
            raise FileNotFoundError(f'config {path} is not installed: {err}') from err
    elif not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    else:
        cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def dataset_config(cfg, source: str = 'the config', data_root: Optional[str] = None):
    """The ``test_dataloader.dataset`` of a config, with ``data_root`` overridden.

    Args:
        cfg (mmengine.Config): a config with a test dataloader.
        source (str): how to name the config in an error (e.g. its path).
        data_root (str, optional): replaces the dataset's ``data_root`` (the real-photo
            configs point at ``data/<set>/``; the data may live elsewhere).

    Returns:
        dict: a deep copy of the dataset config.

    Raises:
        ValueError: the config has no ``test_dataloader`` with a ``dataset`` (pretraining
            configs set it to None), naming ``source``.
    """
    loader = cfg.get('test_dataloader')
    if not loader or not loader.get('dataset'):
        raise ValueError(
            f'{source} has no test_dataloader with a dataset (pretraining configs have none); '
            'pass a config that has one for the data (e.g. --data-config '
            'configs/real_photos/bce_resnet18-w16_1xb64-adam-15e_miml.py)')
    dataset = copy.deepcopy(loader['dataset'])
    if hasattr(dataset, 'to_dict'):
        dataset = dataset.to_dict()
    if data_root is not None:
        if not osp.isdir(data_root):
            raise FileNotFoundError(f'--data-root {data_root} is not a folder')
        dataset['data_root'] = data_root
    return dataset


def build_dataset(dataset_cfg: dict):
    """Build a dataset config with mmpretrain's registry (the plugin's types registered).

    Args:
        dataset_cfg (dict): e.g. from :func:`dataset_config`.

    Returns:
        the dataset (an mmengine ``BaseDataset``).
    """
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS

    import mlcl_plugin  # noqa: F401  (registers the plugin's datasets and transforms)

    init_default_scope('mmpretrain')
    return DATASETS.build(copy.deepcopy(dataset_cfg))


def class_names(dataset, num_classes: Optional[int] = None) -> List[str]:
    """Class names of a dataset (``metainfo['classes']``), or ``'0'``, ``'1'``, ... .

    Args:
        dataset: an mmengine dataset.
        num_classes (int, optional): used when the dataset names no classes.

    Returns:
        list[str]: C names.
    """
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    if classes:
        return [str(c) for c in classes]
    if num_classes is None:
        raise ValueError('the dataset names no classes (metainfo["classes"]) and the number '
                         'of classes is unknown')
    return [str(i) for i in range(num_classes)]


def dataset_targets(dataset, num_classes: Optional[int] = None) -> np.ndarray:
    """Multi-hot targets of every sample, from the annotations (no image is decoded).

    Args:
        dataset: an mmengine dataset whose data infos hold ``gt_label`` (class indices).
        num_classes (int, optional): C; defaults to the number of the dataset's classes.

    Returns:
        np.ndarray: ``N x C`` int64 of 0/1.

    Raises:
        ValueError: a label index outside ``[0, C)``, naming the sample and the value.
    """
    if num_classes is None:
        num_classes = len(class_names(dataset))
    labels = [np.asarray(dataset.get_data_info(i)['gt_label'], dtype=np.int64).reshape(-1)
              for i in range(len(dataset))]
    lengths = np.array([len(lab) for lab in labels], dtype=np.int64)
    flat = np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64)
    rows = np.repeat(np.arange(len(labels)), lengths)
    bad = (flat < 0) | (flat >= num_classes)
    if bad.any():
        i = int(rows[bad][0])
        path = dataset.get_data_info(i).get('img_path', f'sample {i}')
        raise ValueError(f'label index {int(flat[bad][0])} of {path} is out of range for '
                         f'{num_classes} classes')
    targets = np.zeros((len(labels), num_classes), dtype=np.int64)
    targets[rows, flat] = 1
    return targets


def build_model(cfg, checkpoint: str, source: str = 'the config', device: str = 'cpu'):
    """Build ``cfg.model`` and load a checkpoint through the plugin's safe loader.

    Backbone weights must all be in the checkpoint (else the embeddings would be random);
    other missing weights (e.g. a classification head when a pretraining checkpoint is
    loaded into a classifier config) only disable class scores (``model.scores_loaded``).
    A bare backbone state dict (no ``backbone.`` prefix, e.g. torchvision's ResNet weights,
    whose names are mmpretrain's ``ResNet`` names) is loaded into the backbone; its keys the
    backbone lacks (torchvision's ``fc``) are dropped. A config's top-level
    ``data_preprocessor`` goes into the model as mmengine's ``Runner`` puts it there, so the
    model normalises its inputs as in training.

    Args:
        cfg (mmengine.Config): the config the checkpoint was trained with.
        checkpoint (str): the ``.pth`` file.
        source (str): how to name the config in an error.
        device (str): where to put the model. Defaults to ``'cpu'``.

    Returns:
        torch.nn.Module: the model in eval mode, with ``scores_loaded`` (bool) set.

    Raises:
        FileNotFoundError: the checkpoint does not exist (named).
        ValueError: the config has no model, or the checkpoint lacks backbone weights.
        mlcl_plugin.compat.UnsafeCheckpointError: the checkpoint needs more than the
            allowlist (see SECURITY.md).
    """
    from mmengine.registry import init_default_scope
    from mmengine.runner.checkpoint import CheckpointLoader
    from mmpretrain.registry import MODELS

    import mlcl_plugin  # noqa: F401  (safe checkpoint loading, registries)

    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    if not cfg.get('model'):
        raise ValueError(f'{source} has no model')
    init_default_scope('mmpretrain')
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None and hasattr(model_cfg, 'setdefault'):
        model_cfg.setdefault('data_preprocessor', copy.deepcopy(cfg.data_preprocessor))
    # weights come from the checkpoint: do not fetch a Pretrained init (never run anyway)
    if isinstance(model_cfg.get('backbone'), dict):
        model_cfg['backbone'].pop('init_cfg', None)
    model = MODELS.build(model_cfg)
    loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'checkpoint {checkpoint} holds no state_dict')
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items()}
    backbone = getattr(model, 'backbone', None)
    if backbone is not None and not any(k.startswith('backbone.') for k in state):
        names = set(backbone.state_dict())
        if names & set(state):  # a bare backbone state dict
            state = {f'backbone.{k}': v for k, v in state.items() if k in names}
    try:
        missing, _ = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatches
        raise ValueError(f'checkpoint {checkpoint} does not match {source}: '
                         f'{str(err).strip().splitlines()[-1].strip()}') from err
    backbone_missing = [k for k in missing if k.startswith('backbone.')]
    if backbone_missing:
        raise ValueError(
            f'checkpoint {checkpoint} does not match {source}: {len(backbone_missing)} backbone '
            f'weights are missing (e.g. {backbone_missing[0]}); pass the config the checkpoint '
            'was trained with (the .py saved beside it)')
    model.scores_loaded = not any(k.startswith('head.') for k in missing)
    return model.to(device).eval()


def parse_runs(items: Sequence[Sequence[str]], what: str = '--run') -> List[Tuple[str, ...]]:
    """Check repeated ``NAME PATH...`` command-line groups: unique names, existing files.

    Args:
        items (Sequence[Sequence[str]]): e.g. ``[['bce', 'cfg.py', 'best.pth'], ...]``.
        what (str): the flag, for error messages.

    Returns:
        list[tuple[str, ...]]: the groups as tuples.

    Raises:
        FileNotFoundError: a path does not exist (named).
        ValueError: a name is used twice.
    """
    runs = [tuple(item) for item in items or []]
    names = [run[0] for run in runs]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f'{what}: the name {name!r} is used twice')
    for run in runs:
        for path in run[1:]:
            if not osp.exists(path):
                raise FileNotFoundError(f'{what} {run[0]}: {path} does not exist')
    return runs


def set_threads(threads: Optional[int]) -> None:
    """Limit torch's CPU threads (``None`` leaves torch's default).

    Args:
        threads (int, optional): number of intra-op threads.
    """
    if threads:
        torch.set_num_threads(int(threads))
