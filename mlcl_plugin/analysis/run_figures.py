# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The figures of a benchmark's main runs in one call, never failing the caller.

:func:`write_run_figures` writes into ``out_dir``:

* ``class_embedding_heatmap.png`` — every checkpoint (see
  ``tools/visualization/class_embedding_heatmap.py``);
* ``per_class_ap.png`` — the first two checkpoints that have a trained classification head
  (see ``tools/analysis_tools/per_class_ap.py``);
* ``training_curves.png`` — every log dir (see ``tools/analysis_tools/training_curves.py``);

and ``run_figures.json`` with the summary numbers. A missing input (checkpoint, config, log
dir, data) or any error while drawing one figure skips that figure (or that run) with a
printed reason; nothing is raised.
"""
import json
import os
import os.path as osp
import time
from typing import Dict, Mapping, Optional, Sequence, Union

from .class_embedding import DEFAULT_TAU

HEATMAP = 'class_embedding_heatmap.png'
PER_CLASS_AP = 'per_class_ap.png'
CURVES = 'training_curves.png'
SUMMARY = 'run_figures.json'


def _say(message: str, verbose: bool) -> None:
    if verbose:
        print(f'[run figures] {message}', flush=True)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f'{type(exc).__name__}: {text[0] if text else ""}'


def write_run_figures(out_dir: str,
                      *,
                      config: Union[str, Mapping[str, str], None] = None,
                      checkpoints: Optional[Mapping[str, str]] = None,
                      data_root: Optional[str] = None,
                      log_dirs: Optional[Mapping[str, str]] = None,
                      data_config: Optional[str] = None,
                      stage: str = 'backbone',
                      tau: float = DEFAULT_TAU,
                      center: bool = False,
                      metrics: Sequence[str] = ('mAP', ),
                      batch_size: int = 64,
                      num_workers: int = 0,
                      dpi: int = 100,
                      verbose: bool = True) -> Dict[str, object]:
    """Write the class-embedding heatmap, the per-class AP chart and the training curves.

    Each checkpoint is run once over the test set (embeddings and, for a classifier, its
    scores together): on 2 CPU cores about 1 s per checkpoint for MIML's 400 test images at
    112 px with the quarter-width ResNet-18, plus a few seconds to import and draw.

    Args:
        out_dir (str): the folder to write into (created).
        config (str | Mapping[str, str], optional): the config of every checkpoint, or run
            name -> config (the ``.py`` saved beside each checkpoint).
        checkpoints (Mapping[str, str], optional): run name -> checkpoint, in figure order
            (e.g. ``{'BCE': ..., 'MulSupCon -> fine-tune': ...}``). The per-class AP chart
            compares the first two that have a trained classification head (the second
            minus the first).
        data_root (str, optional): replaces the test dataset's ``data_root``.
        log_dirs (Mapping[str, str], optional): run name -> work dir (or timestamp folder,
            or ``scalars.json``) for the training curves.
        data_config (str, optional): a config whose ``test_dataloader.dataset`` to use
            (default: the first run's config that has one).
        stage (str): ``'backbone'`` or ``'neck'`` embeddings. Defaults to ``'backbone'``.
        tau (float): heatmap softmax temperature. Defaults to 0.1.
        center (bool): center the embeddings for the heatmap. Defaults to False.
        metrics (Sequence[str]): validation metrics of the curves. Defaults to ``('mAP',)``.
        batch_size (int): images per forward pass. Defaults to 64.
        num_workers (int): data-loader workers. Defaults to 0.
        dpi (int): PNG resolution. Defaults to 100.
        verbose (bool): print progress and reasons. Defaults to True.

    Returns:
        dict: ``figures`` (figure file name -> path, only those written), ``skipped``
        (figure or run -> reason), ``mean_diagonal_mass`` (run -> float), ``mAP`` (run ->
        float), ``ap_order`` (class names, largest AP gain first), ``curves`` (run -> best
        metric values), ``seconds``. Also written to ``<out_dir>/run_figures.json``.
    """
    start = time.perf_counter()
    summary: Dict[str, object] = dict(figures={}, skipped={}, mean_diagonal_mass={}, mAP={},
                                      ap_order=[], curves={})
    skipped = summary['skipped']
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        _say(f'cannot create {out_dir}: {_reason(exc)}; no figures', verbose)
        summary['skipped']['all'] = _reason(exc)
        return summary

    extractions = _extract(config, checkpoints or {}, data_root, data_config, stage,
                           batch_size, num_workers, skipped, verbose)
    _heatmap(out_dir, extractions, tau, center, dpi, summary, verbose)
    _per_class_ap(out_dir, extractions, dpi, summary, verbose)
    _curves(out_dir, log_dirs or {}, metrics, dpi, summary, verbose)
    summary['seconds'] = round(time.perf_counter() - start, 2)
    try:
        with open(osp.join(out_dir, SUMMARY), 'w') as f:
            json.dump(summary, f, indent=1, default=float)
    except (OSError, TypeError, ValueError) as exc:
        _say(f'could not write {SUMMARY}: {_reason(exc)}', verbose)
    _say(f'{len(summary["figures"])} figure(s) in {out_dir} ({summary["seconds"]:.1f} s)',
         verbose)
    return summary


def _extract(config, checkpoints, data_root, data_config, stage, batch_size, num_workers,
             skipped, verbose):
    """Run every usable checkpoint over the shared test set; skip the others with a reason."""
    from .loading import build_model, load_config
    from .runs import build_runs_dataset

    usable = []
    for name, ckpt in checkpoints.items():
        cfg_path = config.get(name) if isinstance(config, Mapping) else config
        if not cfg_path:
            skipped[f'run {name}'] = 'no config given'
        elif not osp.isfile(cfg_path):
            skipped[f'run {name}'] = f'config {cfg_path} does not exist'
        elif not ckpt or not osp.isfile(ckpt):
            skipped[f'run {name}'] = f'checkpoint {ckpt} does not exist'
        else:
            try:
                usable.append((name, cfg_path, ckpt, load_config(cfg_path)))
            except Exception as exc:  # a broken config skips its run only
                skipped[f'run {name}'] = f'config {cfg_path}: {_reason(exc)}'
    for key, reason in skipped.items():
        _say(f'skipped {key}: {reason}', verbose)
    if not usable:
        return {}
    try:
        dataset = build_runs_dataset([(c, cfg) for _, c, _, cfg in usable], data_config,
                                     data_root)
    except Exception as exc:
        skipped['test set'] = _reason(exc)
        _say(f'no test set, so no heatmap / per-class AP: {_reason(exc)}', verbose)
        return {}
    from .embeddings import extract

    extractions = {}
    for name, cfg_path, ckpt, cfg in usable:
        try:
            t = time.perf_counter()
            model = build_model(cfg, ckpt, source=cfg_path)
            extractions[name] = extract(model, dataset, stage=stage, batch_size=batch_size,
                                        num_workers=num_workers, source=ckpt)
            _say(f'{name}: extracted in {time.perf_counter() - t:.1f} s', verbose)
        except Exception as exc:
            skipped[f'run {name}'] = _reason(exc)
            _say(f'skipped run {name}: {_reason(exc)}', verbose)
    return extractions


def _heatmap(out_dir, extractions, tau, center, dpi, summary, verbose):
    from .class_embedding import class_embeddings, class_similarity
    from .plots import plot_class_heatmaps

    if not extractions:
        summary['skipped'][HEATMAP] = 'no checkpoint could be run'
        _say(f'skipped {HEATMAP}: no checkpoint could be run', verbose)
        return
    try:
        first = next(iter(extractions.values()))
        keep = class_embeddings(first.embeddings, first.targets).present.nonzero()[0]
        sims = {name: class_similarity(ex.embeddings, ex.targets, tau=tau, center=center,
                                       classes=keep)
                for name, ex in extractions.items()}
        path = plot_class_heatmaps(sims, first.classes, osp.join(out_dir, HEATMAP), dpi=dpi)
    except Exception as exc:
        summary['skipped'][HEATMAP] = _reason(exc)
        _say(f'skipped {HEATMAP}: {_reason(exc)}', verbose)
        return
    summary['figures'][HEATMAP] = path
    summary['mean_diagonal_mass'] = {n: s.mean_diagonal_mass for n, s in sims.items()}
    _say('mean diagonal mass: ' + ', '.join(
        f'{n} {s.mean_diagonal_mass:.3f}' for n, s in sims.items()), verbose)


def _per_class_ap(out_dir, extractions, dpi, summary, verbose):
    import numpy as np

    from .per_class_ap import ap_difference_order, per_class_ap
    from .plots import plot_per_class_ap

    scored = [(n, ex) for n, ex in extractions.items() if ex.scores is not None]
    if len(scored) < 2:
        reason = (f'needs two checkpoints with a trained classification head, got '
                  f'{len(scored)}')
        summary['skipped'][PER_CLASS_AP] = reason
        _say(f'skipped {PER_CLASS_AP}: {reason}', verbose)
        return
    try:
        names = [n for n, _ in scored[:2]]
        aps = [per_class_ap(ex.scores, ex.targets) for _, ex in scored[:2]]
        path = plot_per_class_ap(names, aps, scored[0][1].classes,
                                 osp.join(out_dir, PER_CLASS_AP), dpi=dpi)
        order, _ = ap_difference_order(*aps)
    except Exception as exc:
        summary['skipped'][PER_CLASS_AP] = _reason(exc)
        _say(f'skipped {PER_CLASS_AP}: {_reason(exc)}', verbose)
        return
    summary['figures'][PER_CLASS_AP] = path
    summary['mAP'] = {n: float(np.nanmean(ap)) for n, ap in zip(names, aps)}
    summary['ap_order'] = [scored[0][1].classes[i] for i in order]
    _say('mAP: ' + ', '.join(f'{n} {v:.2f}' for n, v in summary['mAP'].items()), verbose)


def _curves(out_dir, log_dirs, metrics, dpi, summary, verbose):
    import numpy as np

    from .plots import plot_training_curves
    from .scalar_logs import load_run_log, resolve_metric

    logs = {}
    for name, path in log_dirs.items():
        try:
            logs[name] = load_run_log(path)
        except Exception as exc:
            summary['skipped'][f'log {name}'] = _reason(exc)
            _say(f'skipped the log of {name}: {_reason(exc)}', verbose)
    if not logs:
        summary['skipped'][CURVES] = 'no readable log dir'
        _say(f'skipped {CURVES}: no readable log dir', verbose)
        return
    try:
        path = plot_training_curves(logs, list(metrics), osp.join(out_dir, CURVES), dpi=dpi)
    except Exception as exc:
        summary['skipped'][CURVES] = _reason(exc)
        _say(f'skipped {CURVES}: {_reason(exc)}', verbose)
        return
    summary['figures'][CURVES] = path
    for name, log in logs.items():
        best = {}
        for metric in metrics:
            key = resolve_metric(log, metric)
            if key is not None and np.isfinite(log.val[key]).any():
                best[key] = float(np.nanmax(log.val[key]))
        summary['curves'][name] = best
