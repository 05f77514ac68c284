# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Label co-occurrence, true vs predicted, and the multi-label confusion of one checkpoint.

Three C x C panels for one model on the test set, predictions thresholded at --thr:
(1) true co-occurrence, row i = P(j true | i true); (2) predicted co-occurrence,
P(j predicted | i predicted); (3) the confusion P(j predicted | i true), whose diagonal is
each class's recall and whose off-diagonal shows which labels the model adds to images of i.
Printed: the co-occurrence gap (mean |predicted - true| conditional rate over the off-diagonal
pairs; 0 = labels predicted together exactly as often as they occur together), the mean
recall, and the pairs predicted together far more / less often than they occur.

Example:
    python tools/analysis_tools/label_cooccurrence.py \\
        --run BCE work_dirs/bce/bce_resnet18-w16_1xb64-adam-15e_miml.py \\
                  work_dirs/bce/best_multi-label_mAP_epoch_15.pth \\
        --data-root ../shared/data/miml_scene --out cooccurrence.png
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mlcl_plugin.analysis.cli import (
    add_data_options,
    add_output_options,
    add_run_options,
)
from mlcl_plugin.analysis.cooccurrence import DEFAULT_THR

NUM_PAIRS = 5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    add_run_options(parser, scores=True)
    add_data_options(parser, stage=False)
    parser.add_argument('--thr', type=float, default=DEFAULT_THR,
                        help='a class is predicted when its score is >= thr (default: '
                        '%(default)s)')
    add_output_options(parser, 'label_cooccurrence.png')
    args = parser.parse_args(argv)
    if not args.runs or len(args.runs) != 1:
        parser.error('give exactly one run (--run NAME CONFIG CKPT or --scores NAME NPZ)')
    if not 0 < args.thr < 1:
        parser.error(f'--thr must lie in (0, 1), got {args.thr}')
    return args


def main(argv=None):
    """Draw the three matrices and print their summary.

    Args:
        argv (list[str], optional): command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        dict: ``gap``, ``mean_recall``, ``true_counts`` / ``pred_counts`` / ``cross_counts``
        (C x C lists), ``classes``, ``out``.
    """
    args = parse_args(argv)
    start = time.perf_counter()
    import numpy as np

    from mlcl_plugin.analysis.cooccurrence import label_cooccurrence
    from mlcl_plugin.analysis.loading import parse_runs, set_threads
    from mlcl_plugin.analysis.plots import plot_cooccurrence
    from mlcl_plugin.analysis.runs import scores_of_runs

    set_threads(args.threads)
    runs = parse_runs(args.runs, '--run/--scores')
    scored, classes = scores_of_runs(runs, data_config=args.data_config,
                                     data_root=args.data_root, batch_size=args.batch_size,
                                     num_workers=args.num_workers)
    name, (scores, targets) = next(iter(scored.items()))
    res = label_cooccurrence(scores, targets, args.thr)
    plot_cooccurrence(res, classes, args.out, name=name, dpi=args.dpi)
    recall = np.diagonal(res.cross_rates)
    print(f'{name}: {len(targets)} test samples, {len(classes)} classes, threshold '
          f'{args.thr:g}')
    print(f'  co-occurrence gap: {res.gap:.4f} (mean |P(j pred | i pred) - P(j true | i true)|'
          ', off-diagonal)')
    print(f'  mean recall (diagonal of the confusion): {np.nanmean(recall):.4f}')
    diff = res.pred_rates - res.true_rates
    np.fill_diagonal(diff, np.nan)
    flat = np.where(np.isfinite(diff), diff, 0.0).ravel()
    order = np.argsort(flat, kind='stable')
    for title, picks, sign in (('predicted together more often than true', order[::-1], 1),
                               ('predicted together less often than true', order, -1)):
        picks = [p for p in picks[:NUM_PAIRS] if sign * flat[p] > 0]
        if picks:
            print(f'  {title}:')
            for p in picks:
                i, j = divmod(int(p), len(classes))
                print(f'    P({classes[j]} | {classes[i]}): predicted '
                      f'{res.pred_rates[i, j]:.3f}, true {res.true_rates[i, j]:.3f}')
    print(f'wrote {args.out} ({time.perf_counter() - start:.1f} s)')
    return dict(gap=res.gap, mean_recall=float(np.nanmean(recall)),
                true_counts=res.true_counts.tolist(), pred_counts=res.pred_counts.tolist(),
                cross_counts=res.cross_counts.tolist(), classes=classes, out=args.out)


if __name__ == '__main__':
    main()
