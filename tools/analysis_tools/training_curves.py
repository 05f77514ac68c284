# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Training curves of several runs on one figure: loss, learning rate, validation metrics.

Reads mmengine's scalar logs (<work_dir>/<timestamp>/vis_data/scalars.json, one JSON object
per line; a resumed run's timestamp folders are joined). As in mmpretrain's
tools/analysis_tools/analyze_logs.py (which plots one key of single runs), a record with
"lr" is a training record and the x axis of an epoch-based run is in epochs. Validation
metrics are named by their full key or a suffix ("mAP" finds "multi-label/mAP"); a run that
did not log one (a pretraining) is left out of that panel. Printed per run: last and lowest
loss, last learning rate, and the best value of every metric with its epoch.

Example:
    python tools/analysis_tools/training_curves.py \\
        --run BCE work_dirs/grid/miml/seed0/bce \\
        --run MulSupCon-ft work_dirs/grid/miml/seed0/mulsupcon-ft \\
        --metrics mAP macro_f1 --out curves.png
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mlcl_plugin.analysis.cli import add_output_options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    parser.add_argument('--run', dest='runs', action='append', nargs=2, required=True,
                        metavar=('NAME', 'PATH'),
                        help='a work dir of tools/train.py, one of its <timestamp> folders or '
                        'a scalars.json; repeat for several runs')
    parser.add_argument('--metrics', nargs='*', default=['mAP'],
                        help='validation metrics, one panel each (default: %(default)s)')
    parser.add_argument('--loss-key', default='loss',
                        help='training loss key (default: %(default)s)')
    add_output_options(parser, 'training_curves.png')
    return parser.parse_args(argv)


def summarize(name, log, metrics, loss_key='loss'):
    """One run's summary lines and numbers.

    Args:
        name (str): the run.
        log (RunLog): its scalars.
        metrics (list[str]): metric names (full keys or suffixes).
        loss_key (str): the loss key.

    Returns:
        tuple[list[str], dict]: printable lines and ``{'last_loss', 'min_loss', 'last_lr',
        'best': {metric key: (value, x)}}``.
    """
    import numpy as np

    from mlcl_plugin.analysis.scalar_logs import resolve_metric

    unit = log.unit
    out = dict(best={})
    lines = [f'{name}: {len(log.files)} log file(s), {len(log.train_x)} training / '
             f'{len(log.val_x)} validation records']
    loss = log.train.get(loss_key)
    if loss is not None and np.isfinite(loss).any():
        out.update(last_loss=float(loss[np.isfinite(loss)][-1]), min_loss=float(np.nanmin(loss)))
        lines.append(f'  {loss_key}: last {out["last_loss"]:.4f}, lowest {out["min_loss"]:.4f}')
    if 'lr' in log.train and len(log.train['lr']):
        out['last_lr'] = float(log.train['lr'][-1])
        lines.append(f'  lr: last {out["last_lr"]:.3g}')
    for metric in metrics:
        key = resolve_metric(log, metric)
        if key is None or not np.isfinite(log.val[key]).any():
            lines.append(f'  {metric}: not logged')
            continue
        best = int(np.nanargmax(log.val[key]))
        out['best'][key] = (float(log.val[key][best]), float(log.val_x[best]))
        lines.append(f'  {key}: best {log.val[key][best]:.2f} at {unit} '
                     f'{log.val_x[best]:g}, last {log.val[key][-1]:.2f}')
    return lines, out


def main(argv=None):
    """Draw the curves and print each run's summary.

    Args:
        argv (list[str], optional): command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        dict: run name -> the numbers of :func:`summarize`, plus ``out``.
    """
    args = parse_args(argv)
    start = time.perf_counter()
    from mlcl_plugin.analysis.loading import parse_runs
    from mlcl_plugin.analysis.plots import plot_training_curves
    from mlcl_plugin.analysis.scalar_logs import load_run_log

    runs = parse_runs(args.runs)
    logs = {name: load_run_log(path) for name, path in runs}
    plot_training_curves(logs, args.metrics, args.out, loss_key=args.loss_key, dpi=args.dpi)
    result = {}
    for name, log in logs.items():
        lines, result[name] = summarize(name, log, args.metrics, args.loss_key)
        print('\n'.join(lines))
    print(f'wrote {args.out} ({time.perf_counter() - start:.1f} s)')
    result['out'] = args.out
    return result


if __name__ == '__main__':
    main()
