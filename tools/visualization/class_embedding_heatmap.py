# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Class-embedding similarity heatmaps of checkpoints side by side (MulSupCon, Figure 3).

For each checkpoint the test-set embeddings are extracted (pooled backbone output, or the
neck's with --stage neck); the embedding of class c is the mean of the L2-normalised
embeddings of the samples labelled c alone, or, when c never occurs alone, the label-weighted
mean of all samples carrying c (each weighted 1 / its number of labels; such rows are marked
with a red dagger). Row i of a heatmap is the softmax over classes j of cos(e_i, e_j) / tau.
Printed per checkpoint: the mean diagonal mass, mean_i P[i, i] (1 = every class closest to
itself by far, 1/K = classes indistinguishable).

Example (MIML scene, BCE from scratch vs MulSupCon pretraining):
    python tools/visualization/class_embedding_heatmap.py \\
        --run BCE work_dirs/bce/bce_resnet18-w16_1xb64-adam-15e_miml.py \\
                  work_dirs/bce/best_multi-label_mAP_epoch_15.pth \\
        --run MulSupCon work_dirs/pretrain/mulsupcon_resnet18-w16_1xb64-adam-15e_miml.py \\
                  work_dirs/pretrain/epoch_15.pth \\
        --data-root ../shared/data/miml_scene --out heatmap.png
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mlcl_plugin.analysis.class_embedding import DEFAULT_TAU
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
    add_run_options(parser)
    add_data_options(parser)
    parser.add_argument('--tau', type=float, default=DEFAULT_TAU,
                        help='softmax temperature over cos / tau (default: %(default)s, '
                        "MulSupCon's training temperature); compare runs at the same tau")
    parser.add_argument('--center', action='store_true',
                        help='subtract the mean embedding first (backbone features are '
                        'non-negative after ReLU, so their raw cosines are all high)')
    parser.add_argument('--title', help='figure title')
    add_output_options(parser, 'class_embedding_heatmap.png')
    return parser.parse_args(argv)


def main(argv=None):
    """Draw the heatmaps and print the mean diagonal mass of every checkpoint.

    Args:
        argv (list[str], optional): command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        dict: ``mean_diagonal_mass`` (name -> float), ``fallback_classes`` (class names),
        ``classes`` (the heatmap's class order), ``out`` (the PNG).
    """
    args = parse_args(argv)
    start = time.perf_counter()
    from mlcl_plugin.analysis.class_embedding import class_embeddings, class_similarity
    from mlcl_plugin.analysis.loading import parse_runs, set_threads
    from mlcl_plugin.analysis.plots import plot_class_heatmaps
    from mlcl_plugin.analysis.runs import extract_runs

    set_threads(args.threads)
    runs = parse_runs(args.runs)
    extractions = extract_runs(runs, data_config=args.data_config, data_root=args.data_root,
                               stage=args.stage, batch_size=args.batch_size,
                               num_workers=args.num_workers, with_scores=False)
    first = next(iter(extractions.values()))
    ce = class_embeddings(first.embeddings, first.targets)
    keep = ce.present.nonzero()[0]
    absent = [first.classes[i] for i in (~ce.present).nonzero()[0]]
    sims = {name: class_similarity(ex.embeddings, ex.targets, tau=args.tau, center=args.center,
                                   classes=keep)
            for name, ex in extractions.items()}
    plot_class_heatmaps(sims, first.classes, args.out, title=args.title, dpi=args.dpi)
    fallback = [first.classes[i] for i in keep[ce.fallback[keep]]]
    print(f'class embeddings from {first.stage} embeddings of {len(first.targets)} test '
          f'samples, {len(keep)} classes, tau = {args.tau:g}'
          f'{", centered" if args.center else ""}')
    if ce.num_single[keep].any():
        print('single-label samples per class: ' + ', '.join(
            f'{first.classes[i]} {ce.num_single[i]}' for i in keep))
    if fallback:
        print(f'{len(fallback)} of {len(keep)} classes never occur alone (label-weighted '
              f'mean used, marked in the figure): {", ".join(fallback)}')
        if not args.center:
            print('note: label-weighted means of many samples all lie near the mean '
                  'embedding of the set; --center shows what distinguishes them')
    if absent:
        print(f'left out (no test sample): {", ".join(absent)}')
    print(f'mean diagonal mass (uniform rows: 1/K = {1 / len(keep):.4f}):')
    for name, sim in sims.items():
        print(f'  {name}: {sim.mean_diagonal_mass:.4f}')
    print(f'wrote {args.out} ({time.perf_counter() - start:.1f} s)')
    return dict(mean_diagonal_mass={n: s.mean_diagonal_mass for n, s in sims.items()},
                fallback_classes=fallback, classes=[first.classes[i] for i in keep],
                out=args.out)


if __name__ == '__main__':
    main()
