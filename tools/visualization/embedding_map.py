# Copyright (c) mlcl_plugin authors. All rights reserved.
"""2-D maps (t-SNE; UMAP when umap-learn is installed) of test-set embeddings, by label.

One row of small panels per checkpoint, one panel per chosen label: every test sample is a
dot, red where the label is present, grey where it is absent. Printed per checkpoint and
label: the neighbour agreement (in the embedding space, cosine, k nearest neighbours): the
mean fraction of a sample's neighbours whose presence / absence of the label equals its own,
with its chance level p^2 + (1 - p)^2 (p = the label's frequency).

Extraction as mmpretrain's tools/visualization/vis_tsne.py (the model's preprocessor and
backbone, feature maps average-pooled), for classifiers and the plugin's self-supervised
models alike; --stage neck maps the neck (projection) output instead.

Example:
    python tools/visualization/embedding_map.py \\
        --run BCE work_dirs/bce/bce_resnet18-w16_1xb64-adam-15e_miml.py \\
                  work_dirs/bce/best_multi-label_mAP_epoch_15.pth \\
        --data-root ../shared/data/miml_scene --labels sea mountains --out tsne.png
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

DEFAULT_NUM_LABELS = 6


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    add_run_options(parser)
    add_data_options(parser)
    parser.add_argument('--labels', nargs='+',
                        help='labels to colour by, as class names or indices (default: all '
                        f'classes if at most {DEFAULT_NUM_LABELS}, else the '
                        f'{DEFAULT_NUM_LABELS} most frequent)')
    parser.add_argument('--method', choices=('tsne', 'umap'), default='tsne',
                        help='projection (umap needs the umap-learn package, not a '
                        'dependency); default: %(default)s')
    parser.add_argument('--perplexity', type=float, default=30.0,
                        help='t-SNE perplexity (UMAP: number of neighbours); default '
                        '%(default)s')
    parser.add_argument('--max-samples', type=int, default=2000,
                        help='map a seeded random subset of at most this many test samples '
                        '(t-SNE time grows with N); 0: all. Default: %(default)s')
    parser.add_argument('--k', type=int, default=10,
                        help='neighbours of the agreement score (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0, help='subset and projection seed')
    add_output_options(parser, 'embedding_map.png')
    return parser.parse_args(argv)


def resolve_labels(labels, classes, targets, default_num=DEFAULT_NUM_LABELS):
    """Class indices from names or indices (default: all, or the most frequent).

    Args:
        labels (list[str] | None): names or indices from the command line.
        classes (list[str]): the C class names.
        targets (np.ndarray): ``N x C`` labels (for the default choice).
        default_num (int): how many classes by default.

    Returns:
        list[int]: class indices.

    Raises:
        ValueError: an unknown name or an index outside ``[0, C)``, naming the value.
    """
    import numpy as np

    if not labels:
        if len(classes) <= default_num:
            return list(range(len(classes)))
        freq = targets.sum(axis=0)
        return sorted(np.argsort(-freq, kind='stable')[:default_num].tolist())
    out = []
    for label in labels:
        if label in classes:
            out.append(classes.index(label))
        elif label.lstrip('-').isdigit():
            idx = int(label)
            if not 0 <= idx < len(classes):
                raise ValueError(f'--labels: index {idx} is out of range for {len(classes)} '
                                 f'classes')
            out.append(idx)
        else:
            raise ValueError(f'--labels: unknown class {label!r} (classes: '
                             f'{", ".join(classes)})')
    return out


def main(argv=None):
    """Draw the maps and print the neighbour agreement of every run and label.

    Args:
        argv (list[str], optional): command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        dict: ``labels`` (names), ``agreement`` (run -> list per label), ``chance`` (list per
        label), ``num_samples``, ``out``.
    """
    args = parse_args(argv)
    start = time.perf_counter()
    from mlcl_plugin.analysis.embedding_map import (
        chance_agreement,
        neighbour_agreement,
        project_2d,
        subsample,
        umap_available,
    )
    from mlcl_plugin.analysis.loading import parse_runs, set_threads
    from mlcl_plugin.analysis.plots import plot_embedding_maps
    from mlcl_plugin.analysis.runs import extract_runs

    if args.method == 'umap' and not umap_available():
        raise SystemExit('--method umap needs the umap-learn package (pip install '
                         'umap-learn), which mlcl_plugin does not depend on; use --method tsne')
    set_threads(args.threads)
    runs = parse_runs(args.runs)
    extractions = extract_runs(runs, data_config=args.data_config, data_root=args.data_root,
                               stage=args.stage, batch_size=args.batch_size,
                               num_workers=args.num_workers, with_scores=False)
    first = next(iter(extractions.values()))
    label_idx = resolve_labels(args.labels, first.classes, first.targets)
    keep = subsample(len(first.targets), args.max_samples, args.seed)
    targets = first.targets[keep]
    chance = chance_agreement(targets[:, label_idx])
    maps, agreement = {}, {}
    for name, ex in extractions.items():
        emb = ex.embeddings[keep]
        maps[name] = project_2d(emb, args.method, seed=args.seed, perplexity=args.perplexity)
        agreement[name] = neighbour_agreement(emb, targets[:, label_idx], k=args.k)
    method = 't-SNE' if args.method == 'tsne' else 'UMAP'
    plot_embedding_maps(maps, targets, label_idx, first.classes, args.out, agreement=agreement,
                        chance=chance, method=method, dpi=args.dpi, k=args.k)
    names = [first.classes[i] for i in label_idx]
    print(f'{method} of {len(keep)} of {len(first.targets)} test samples ({first.stage} '
          f'embeddings); neighbour agreement (k = {args.k}) per label, chance in brackets:')
    width = max(len(n) for n in names)
    for name in extractions:
        print(f'  {name}:')
        for n, a, c in zip(names, agreement[name], chance):
            print(f'    {n:<{width}}  {a:.3f}  ({c:.3f})')
        print(f'    {"mean":<{width}}  {agreement[name].mean():.3f}  ({chance.mean():.3f})')
    print(f'wrote {args.out} ({time.perf_counter() - start:.1f} s)')
    return dict(labels=names, agreement={n: a.tolist() for n, a in agreement.items()},
                chance=chance.tolist(), num_samples=len(keep), out=args.out)


if __name__ == '__main__':
    main()
