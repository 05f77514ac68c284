# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Per-class AP of two runs side by side, classes sorted by the AP difference.

Each run is a checkpoint (--run NAME CONFIG CKPT: the test set is scored here) or the test
scores the real-photo benchmark saved (--scores NAME <unit>/test_scores.npz). The classes are
sorted by AP(second run) - AP(first run), largest gain first; a third or later run is drawn
too but not used for the order. AP is scikit-learn's average precision (the mean over classes
is the benchmark's mAP). Printed: each run's mAP, the per-class table, and how many classes
the second run improves.

Example:
    python tools/analysis_tools/per_class_ap.py \\
        --scores BCE work_dirs/grid/peta/seed0/bce/test_scores.npz \\
        --scores MulSupCon-ft work_dirs/grid/peta/seed0/mulsupcon-ft/test_scores.npz \\
        --data-config configs/real_photos/bce_resnet18-w16_1xb64-adam-15e_peta.py \\
        --data-root ../shared/data/peta --out per_class_ap.png
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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    add_run_options(parser, scores=True)
    add_data_options(parser, stage=False)
    add_output_options(parser, 'per_class_ap.png')
    args = parser.parse_args(argv)
    if not args.runs or len(args.runs) < 2:
        parser.error('give at least two runs (--run NAME CONFIG CKPT or --scores NAME NPZ)')
    return args


def main(argv=None):
    """Draw the chart and print the per-class APs.

    Args:
        argv (list[str], optional): command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        dict: ``mAP`` (run -> float), ``ap`` (run -> list of C floats, NaN for a class
        without positives), ``classes``, ``order`` (class names, largest gain first),
        ``improved`` (classes where the second run is better), ``out``.
    """
    args = parse_args(argv)
    start = time.perf_counter()
    import numpy as np

    from mlcl_plugin.analysis.loading import parse_runs, set_threads
    from mlcl_plugin.analysis.per_class_ap import ap_difference_order, per_class_ap
    from mlcl_plugin.analysis.plots import plot_per_class_ap
    from mlcl_plugin.analysis.runs import scores_of_runs

    set_threads(args.threads)
    runs = parse_runs(args.runs, '--run/--scores')
    scored, classes = scores_of_runs(runs, data_config=args.data_config,
                                     data_root=args.data_root, batch_size=args.batch_size,
                                     num_workers=args.num_workers)
    names = list(scored)
    aps = [per_class_ap(*scored[n]) for n in names]
    plot_per_class_ap(names, aps, classes, args.out, dpi=args.dpi)
    order, diff = ap_difference_order(aps[0], aps[1])
    improved = int(np.sum(diff > 0))
    defined = int(np.sum(np.isfinite(diff)))
    width = max(len(c) for c in classes)
    print(f'{len(scored[names[0]][1])} test samples, {len(classes)} classes')
    for name, ap in zip(names, aps):
        print(f'  mAP {name}: {np.nanmean(ap):.2f}')
    print(f'per-class AP (%), sorted by {names[1]} - {names[0]}:')
    cols = [max(8, len(n)) for n in names]
    print(f'  {"class":<{width}}  ' + '  '.join(f'{n:>{c}}' for n, c in zip(names, cols))
          + '      diff')
    for i in order:
        print(f'  {classes[i]:<{width}}  '
              + '  '.join(f'{ap[i]:{c}.2f}' for ap, c in zip(aps, cols)) + f'  {diff[i]:+8.2f}')
    print(f'{names[1]} better on {improved} of {defined} classes; mean difference '
          f'{np.nanmean(diff):+.2f} AP points')
    print(f'wrote {args.out} ({time.perf_counter() - start:.1f} s)')
    return dict(mAP={n: float(np.nanmean(ap)) for n, ap in zip(names, aps)},
                ap={n: ap.tolist() for n, ap in zip(names, aps)}, classes=classes,
                order=[classes[i] for i in order], improved=improved, out=args.out)


if __name__ == '__main__':
    main()
