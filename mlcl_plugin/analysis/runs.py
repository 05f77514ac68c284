# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Several checkpoints run over the same test set (one dataset, one class order).

The test set comes from ``data_config`` when given, else from the first run whose config has
a ``test_dataloader`` (pretraining configs have none), with ``data_root`` overridden.
"""
import time
from typing import Dict, Optional, Sequence, Tuple

from .embeddings import Extraction, extract
from .loading import build_dataset, build_model, dataset_config, load_config


def build_runs_dataset(configs: Sequence[Tuple[str, object]], data_config: Optional[str] = None,
                       data_root: Optional[str] = None):
    """The test set shared by several runs.

    Args:
        configs (Sequence[tuple[str, Config]]): ``(path, loaded config)`` of each run.
        data_config (str, optional): a config whose ``test_dataloader.dataset`` to use
            instead.
        data_root (str, optional): replaces the dataset's ``data_root``.

    Returns:
        the dataset.

    Raises:
        ValueError: no config with a test dataloader, naming the configs.
    """
    if data_config is not None:
        return build_dataset(dataset_config(load_config(data_config), data_config, data_root))
    for path, cfg in configs:
        loader = cfg.get('test_dataloader')
        if loader and loader.get('dataset'):
            return build_dataset(dataset_config(cfg, path, data_root))
    names = ', '.join(path for path, _ in configs)
    raise ValueError(f'none of the configs ({names}) has a test_dataloader with a dataset '
                     '(pretraining configs have none): pass --data-config with a config '
                     'that has one, e.g. configs/real_photos/bce_resnet18-w16_1xb64-adam-15e_'
                     'miml.py')


def extract_runs(runs: Sequence[Tuple[str, str, str]],
                 data_config: Optional[str] = None,
                 data_root: Optional[str] = None,
                 stage: str = 'backbone',
                 batch_size: int = 64,
                 num_workers: int = 0,
                 with_scores: bool = True,
                 verbose: bool = True) -> Dict[str, Extraction]:
    """Embeddings (and scores) of several checkpoints on one test set.

    Args:
        runs (Sequence[tuple[str, str, str]]): ``(name, config path, checkpoint path)``.
        data_config (str, optional): see :func:`build_runs_dataset`.
        data_root (str, optional): see :func:`build_runs_dataset`.
        stage (str): ``'backbone'`` or ``'neck'`` (see
            :func:`mlcl_plugin.analysis.embeddings.extract`). Defaults to ``'backbone'``.
        batch_size (int): images per forward pass. Defaults to 64.
        num_workers (int): data-loader workers. Defaults to 0.
        with_scores (bool): also keep classifier scores. Defaults to True.
        verbose (bool): print one line per run. Defaults to True.

    Returns:
        dict[str, Extraction]: name -> its extraction, in the order of ``runs``.
    """
    configs = [(cfg_path, load_config(cfg_path)) for _, cfg_path, _ in runs]
    dataset = build_runs_dataset(configs, data_config, data_root)
    results = {}
    for (name, cfg_path, ckpt), (_, cfg) in zip(runs, configs):
        start = time.perf_counter()
        model = build_model(cfg, ckpt, source=cfg_path)
        results[name] = extract(model, dataset, stage=stage, batch_size=batch_size,
                                num_workers=num_workers, with_scores=with_scores, source=ckpt)
        if verbose:
            ex = results[name]
            print(f'{name}: {ex.embeddings.shape[0]} samples, {ex.stage} embeddings of '
                  f'{ex.embeddings.shape[1]} dims, scores: '
                  f'{"yes" if ex.scores is not None else "no"} '
                  f'({time.perf_counter() - start:.1f} s)', flush=True)
    return results


def scores_of_runs(runs: Sequence[tuple],
                   data_config: Optional[str] = None,
                   data_root: Optional[str] = None,
                   batch_size: int = 64,
                   num_workers: int = 0,
                   verbose: bool = True) -> Tuple[Dict[str, Tuple], list]:
    """Test scores of checkpoints and/or saved score files, checked to share their targets.

    Args:
        runs (Sequence[tuple]): ``(name, config, checkpoint)`` (scores computed) or
            ``(name, npz)`` (scores read with
            :func:`mlcl_plugin.analysis.per_class_ap.load_scores`).
        data_config (str, optional): see :func:`build_runs_dataset`; also gives the class
            names when every run is a score file.
        data_root (str, optional): see :func:`build_runs_dataset`.
        batch_size (int): images per forward pass. Defaults to 64.
        num_workers (int): data-loader workers. Defaults to 0.
        verbose (bool): print one line per checkpoint. Defaults to True.

    Returns:
        tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[str]]: name -> ``(scores N x C,
        targets N x C)`` in the order of ``runs``, and the C class names.

    Raises:
        ValueError: a checkpoint without a trained classification head, or runs whose
            targets differ (not the same test set), naming them.
    """
    import numpy as np

    from .loading import class_names
    from .per_class_ap import load_scores

    ckpt_runs = [r for r in runs if len(r) == 3]
    extractions = extract_runs(ckpt_runs, data_config=data_config, data_root=data_root,
                               batch_size=batch_size, num_workers=num_workers,
                               verbose=verbose) if ckpt_runs else {}
    classes = None
    if extractions:
        classes = next(iter(extractions.values())).classes
    elif data_config is not None:
        classes = class_names(build_dataset(dataset_config(load_config(data_config),
                                                           data_config, data_root)))
    results = {}
    for run in runs:
        name = run[0]
        if len(run) == 3:
            ex = extractions[name]
            if ex.scores is None:
                raise ValueError(f'{name}: {run[2]} has no trained classification head (a '
                                 'pretraining checkpoint?): no class scores')
            results[name] = (ex.scores, ex.targets)
        else:
            results[name] = load_scores(run[1])
    ref_name, (_, ref_targets) = next(iter(results.items()))
    for name, (_, targets) in results.items():
        if targets.shape != ref_targets.shape or not np.array_equal(targets, ref_targets):
            raise ValueError(f'{name} and {ref_name} were not scored on the same test set '
                             f'(targets {targets.shape} vs {ref_targets.shape}, or different '
                             'labels)')
    if classes is None:
        classes = [str(i) for i in range(ref_targets.shape[1])]
    if len(classes) != ref_targets.shape[1]:
        raise ValueError(f'{len(classes)} class names for {ref_targets.shape[1]} score columns')
    return results, classes
