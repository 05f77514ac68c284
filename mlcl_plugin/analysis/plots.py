# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The figures of the analysis tools (matplotlib, Agg backend, imported only when drawing).

Every function draws one PNG from already computed numbers and returns its path; the
numbers come from the other modules of :mod:`mlcl_plugin.analysis`.
"""
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np

DPI = 100
# fallback rows of the class-embedding heatmap
FALLBACK_MARK = '\u2020'  # dagger
FALLBACK_COLOR = 'tab:red'


def _pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out_path: str, dpi: int = DPI, palette: bool = False) -> str:
    """Save and close a figure; ``palette``: a 256-colour PNG (photos: about 1/3 the size)."""
    plt = _pyplot()
    folder = osp.dirname(osp.abspath(out_path))
    os.makedirs(folder, exist_ok=True)
    if palette:
        import io

        from PIL import Image

        buffer = io.BytesIO()
        fig.savefig(buffer, format='png', dpi=dpi, bbox_inches='tight')
        buffer.seek(0)
        with Image.open(buffer) as img:
            img.convert('RGB').quantize(256).save(out_path, optimize=True)
    else:
        fig.savefig(out_path, dpi=dpi, bbox_inches='tight')
    plt.close(fig)
    return out_path


def _tick_size(num: int) -> float:
    return 9 if num <= 10 else (7 if num <= 20 else 5)


def plot_class_heatmaps(sims: Dict[str, 'object'], classes: Sequence[str], out_path: str,
                        title: Optional[str] = None, dpi: int = DPI) -> str:
    """Class-embedding similarity heatmaps of several checkpoints side by side.

    Args:
        sims (dict[str, ClassSimilarity]): name -> the result of
            :func:`mlcl_plugin.analysis.class_embedding.class_similarity`; all with the same
            ``class_idx`` (same class order).
        classes (Sequence[str]): all C class names of the dataset.
        out_path (str): the PNG.
        title (str, optional): figure title.
        dpi (int): resolution. Defaults to 100.

    Returns:
        str: ``out_path``.
    """
    plt = _pyplot()
    items = list(sims.items())
    first = items[0][1]
    k = len(first.class_idx)
    names = [str(classes[i]) for i in first.class_idx]
    vmax = max(float(s.probs.max()) for _, s in items)
    side = min(7.0, max(3.2, 0.2 * k + 2.0))
    fig, axes = plt.subplots(1, len(items), figsize=(side * len(items) + 1.5, side + 1.2),
                             squeeze=False, layout='constrained')
    fontsize = _tick_size(k)
    for p, (ax, (name, sim)) in enumerate(zip(axes[0], items)):
        im = ax.imshow(sim.probs, vmin=0.0, vmax=vmax, cmap='viridis')
        ax.set_title(f'{name}\nmean diagonal mass {sim.mean_diagonal_mass:.3f}', fontsize=9)
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xticklabels(names, rotation=90, fontsize=fontsize)
        ax.set_xlabel('class j', fontsize=8)
        if p == 0:  # same classes (and fallback rows: same set) in every panel
            ax.set_yticklabels([n + (f' {FALLBACK_MARK}' if fb else '')
                                for n, fb in zip(names, sim.fallback)], fontsize=fontsize)
            for label, fb in zip(ax.get_yticklabels(), sim.fallback):
                if fb:
                    label.set_color(FALLBACK_COLOR)
            ax.set_ylabel('class embedding i', fontsize=8)
        else:
            ax.set_yticklabels([])
        if k <= 10:
            for (i, j), value in np.ndenumerate(sim.probs):
                ax.text(j, i, f'{value:.2f}', ha='center', va='center', fontsize=7,
                        color='white' if value < 0.6 * vmax else 'black')
    fig.colorbar(im, ax=list(axes[0]), shrink=0.8)
    num_fb = int(np.sum(first.fallback))
    note = (f'row i = softmax over j of cos(e_i, e_j) / tau, tau = {first.tau:g}'
            f'{" (embeddings centered)" if first.center else ""}; '
            f'uniform rows give 1/K = {1 / k:.3f} (K = {k}).')
    if num_fb:
        note += (f'\n{FALLBACK_MARK} red rows ({num_fb} of {k}): the class never occurs alone '
                 'in the set; its embedding is the label-weighted mean of all its samples.')
    fig.supxlabel(note, fontsize=8, x=0.0, ha='left')
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, out_path, dpi)


def plot_embedding_maps(maps: Dict[str, np.ndarray], targets: np.ndarray,
                        label_idx: Sequence[int], classes: Sequence[str], out_path: str,
                        agreement: Optional[Dict[str, np.ndarray]] = None,
                        chance: Optional[np.ndarray] = None, method: str = 't-SNE',
                        dpi: int = DPI, k: int = 10) -> str:
    """2-D embedding maps, one row per run, one small panel per label (present / absent).

    Args:
        maps (dict[str, np.ndarray]): name -> ``N x 2`` map (same samples for every run).
        targets (np.ndarray): ``N x C`` multi-hot labels of those samples.
        label_idx (Sequence[int]): the labels to colour by (one column each).
        classes (Sequence[str]): the C class names.
        out_path (str): the PNG.
        agreement (dict[str, np.ndarray], optional): name -> neighbour agreement of each
            label in ``label_idx`` (shown in the panel titles).
        chance (np.ndarray, optional): chance agreement of each label in ``label_idx``.
        method (str): the projection's name, for the labels. Defaults to ``'t-SNE'``.
        dpi (int): resolution. Defaults to 100.
        k (int): the neighbours of ``agreement``, for the title. Defaults to 10.

    Returns:
        str: ``out_path``.
    """
    plt = _pyplot()
    rows, cols = len(maps), len(label_idx)
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols + 0.6, 2.4 * rows + 0.4),
                             squeeze=False)
    size = 6 if len(targets) <= 1000 else 2
    for r, (name, xy) in enumerate(maps.items()):
        for c, label in enumerate(label_idx):
            ax = axes[r][c]
            present = targets[:, label] == 1
            ax.scatter(xy[~present, 0], xy[~present, 1], s=size, c='lightgrey', lw=0,
                       label='absent')
            ax.scatter(xy[present, 0], xy[present, 1], s=size, c='tab:red', lw=0,
                       label='present')
            ax.set_xticks([])
            ax.set_yticks([])
            text = f'{classes[label]} ({int(present.sum())}/{len(present)})'
            if agreement is not None:
                text += f'\nagree {agreement[name][c]:.2f}'
                if chance is not None:
                    text += f' (chance {chance[c]:.2f})'
            ax.set_title(text, fontsize=7)
            if c == 0:
                ax.set_ylabel(name, fontsize=8)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='lower center', ncol=2, fontsize=7, markerscale=2,
               bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(f'{method} of the test-set embeddings; agree = fraction of the {k} nearest '
                 'neighbours (embedding space) with the same label status', fontsize=8)
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    return _save(fig, out_path, dpi)


def plot_per_class_ap(names: Sequence[str], aps: Sequence[np.ndarray], classes: Sequence[str],
                      out_path: str, dpi: int = DPI) -> str:
    """Per-class AP of two (or more) runs, classes sorted by the AP difference.

    Classes are sorted by ``AP(names[1]) - AP(names[0])``, largest gain first; the right
    panel shows that difference.

    Args:
        names (Sequence[str]): run names (at least 2).
        aps (Sequence[np.ndarray]): per run, ``C`` APs in percent.
        classes (Sequence[str]): the C class names.
        out_path (str): the PNG.
        dpi (int): resolution. Defaults to 100.

    Returns:
        str: ``out_path``.
    """
    from .per_class_ap import ap_difference_order

    plt = _pyplot()
    order, diff = ap_difference_order(aps[0], aps[1])
    num = len(order)
    height = max(2.5, 0.22 * num * (1 + 0.25 * (len(aps) - 1)) + 1.2)
    fig, (ax, ax_d) = plt.subplots(1, 2, figsize=(9, height), sharey=True,
                                   gridspec_kw=dict(width_ratios=(2, 1)))
    y = np.arange(num)
    width = 0.8 / len(aps)
    for r, (name, ap) in enumerate(zip(names, aps)):
        ax.barh(y - 0.4 + width * (r + 0.5), np.nan_to_num(ap[order]), height=width,
                label=f'{name} (mAP {np.nanmean(ap):.1f})')
    ax.set_yticks(y)
    ax.set_yticklabels([str(classes[i]) for i in order], fontsize=9 if num <= 10 else 7)
    ax.set_ylim(num - 0.5, -0.5)  # first class on top
    ax.set_xlabel('AP (%)')
    ax.set_xlim(0, 100)
    ax.legend(fontsize=7, loc='lower left', bbox_to_anchor=(0.0, 1.0), ncol=len(aps),
              frameon=False)
    d = diff[order]
    ax_d.barh(y, np.nan_to_num(d), color=np.where(d >= 0, 'tab:green', 'tab:red'))
    ax_d.axvline(0, color='black', lw=0.8)
    ax_d.set_xlabel(f'AP {names[1]} - AP {names[0]}')
    fig.suptitle(f'Per-class AP, sorted by the gain of {names[1]} over {names[0]}',
                 fontsize=9)
    fig.tight_layout()
    return _save(fig, out_path, dpi)


def plot_cooccurrence(result, classes: Sequence[str], out_path: str, name: str = '',
                      dpi: int = DPI) -> str:
    """True vs predicted label co-occurrence and the multi-label confusion of one model.

    Args:
        result (CooccurrenceResult): from
            :func:`mlcl_plugin.analysis.cooccurrence.label_cooccurrence`.
        classes (Sequence[str]): the C class names.
        out_path (str): the PNG.
        name (str): the model's name, for the title.
        dpi (int): resolution. Defaults to 100.

    Returns:
        str: ``out_path``.
    """
    plt = _pyplot()
    num = len(classes)
    side = min(6.5, max(3.0, 0.17 * num + 2.0))
    fig, axes = plt.subplots(1, 3, figsize=(3 * side + 2.5, side + 1.2), layout='constrained')
    panels = (
        (result.true_rates, 'true co-occurrence\nP(j true | i true)', 'i true', 'j true'),
        (result.pred_rates, f'predicted co-occurrence (score >= {result.thr:g})\n'
                            'P(j predicted | i predicted)', 'i predicted', 'j predicted'),
        (result.cross_rates, 'confusion: P(j predicted | i true)\n(diagonal = recall)',
         'i true', 'j predicted'),
    )
    fontsize = _tick_size(num)
    for ax, (mat, text, ylabel, xlabel) in zip(axes, panels):
        im = ax.imshow(np.ma.masked_invalid(mat), vmin=0, vmax=1, cmap='magma')
        ax.set_title(text, fontsize=8)
        ax.set_xticks(range(num))
        ax.set_yticks(range(num))
        ax.set_xticklabels(classes, rotation=90, fontsize=fontsize)
        ax.set_yticklabels(classes, fontsize=fontsize)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        if num <= 10:
            for (i, j), value in np.ndenumerate(mat):
                if np.isfinite(value):
                    ax.text(j, i, f'{value:.2f}', ha='center', va='center', fontsize=7,
                            color='white' if value < 0.6 else 'black')
    fig.colorbar(im, ax=list(axes), shrink=0.8)
    fig.suptitle(f'{name}: co-occurrence gap {result.gap:.3f} (mean |predicted - true| '
                 'conditional rate, off-diagonal)', fontsize=9)
    return _save(fig, out_path, dpi)


def plot_training_curves(logs: Dict[str, 'object'], metrics: Sequence[str], out_path: str,
                         loss_key: str = 'loss', dpi: int = DPI) -> str:
    """Loss, learning rate and validation metrics of several runs on one figure.

    Args:
        logs (dict[str, RunLog]): name -> :func:`mlcl_plugin.analysis.scalar_logs.load_run_log`.
        metrics (Sequence[str]): validation metrics, one panel each (full keys or suffixes
            such as ``'mAP'``; a run without one is left out of its panel).
        out_path (str): the PNG.
        loss_key (str): the training loss key. Defaults to ``'loss'``.
        dpi (int): resolution. Defaults to 100.

    Returns:
        str: ``out_path``.
    """
    from .scalar_logs import resolve_metric

    plt = _pyplot()
    panels = [loss_key, 'lr', *metrics]
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    units = {log.unit for log in logs.values()}
    xlabel = 'epoch' if units == {'epoch'} else ('iteration' if units == {'iter'}
                                                 else 'epoch / iteration')
    for p, key in enumerate(panels):
        ax = axes[p // cols][p % cols]
        for r, (name, log) in enumerate(logs.items()):
            color = colors[r % len(colors)]
            if p < 2:
                if key in log.train:
                    ax.plot(log.train_x, log.train[key], lw=0.9, color=color, label=name)
            else:
                metric = resolve_metric(log, key)
                if metric is not None:
                    ax.plot(log.val_x, log.val[metric], marker='o', ms=2.5, lw=1.0,
                            color=color, label=name)
        values = np.concatenate([log.train[key] for log in logs.values()
                                 if p == 0 and key in log.train] or [np.zeros(0)])
        values = values[np.isfinite(values)]
        if len(values) and values.min() > 0 and values.max() / values.min() > 20:
            ax.set_yscale('log')  # losses of different scales (e.g. BCE and InfoNCE)
        ax.set_title('learning rate' if key == 'lr' else key, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, 'not logged by these runs', ha='center', va='center',
                    transform=ax.transAxes, fontsize=8, color='grey')
    for p in range(len(panels), rows * cols):
        axes[p // cols][p % cols].axis('off')
    fig.tight_layout()
    return _save(fig, out_path, dpi)


def plot_block_preview(preview, out_path: str, dpi: int = DPI) -> str:
    """The block grid drawn on the image, and every pipeline's view of every block.

    Saved as a 256-colour PNG (photos: about a third of the size of a true-colour PNG).

    Args:
        preview (BlockPreview): from :func:`mlcl_plugin.analysis.block_preview.preview_blocks`.
        out_path (str): the PNG.
        dpi (int): resolution. Defaults to 100.

    Returns:
        str: ``out_path``.
    """
    plt = _pyplot()
    from matplotlib.patches import Rectangle

    num_pipes, num_blocks = len(preview.views), len(preview.views[0])
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    h, w = preview.image.shape[:2]
    vh, vw = preview.views[0][0].shape[:2]
    cell_w = 1.4
    cell_h = cell_w * vh / vw + 0.35  # room for the title
    total_h = num_pipes * cell_h
    img_w = min(5.0, max(1.6, (total_h - 0.6) * w / h))
    fig = plt.figure(figsize=(img_w + num_blocks * cell_w + 0.3, total_h + 0.5),
                     layout='constrained')
    grid = fig.add_gridspec(num_pipes, num_blocks + 1,
                            width_ratios=[img_w] + [cell_w] * num_blocks)
    ax = fig.add_subplot(grid[:, 0])
    # nearest when enlarged (small PETA crops): the real pixels, and a PNG that compresses
    ax.imshow(preview.image, interpolation='nearest' if img_w * dpi >= w else 'antialiased')
    for b, (x0, y0, x1, y1) in enumerate(preview.boxes.tolist()):
        color = colors[b % len(colors)]
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                               edgecolor=color, lw=2, ls=('-', '--', ':', '-.')[b % 4]))
        ax.text(x0 + 0.5 + 0.02 * w * (b // 2), y0 + 0.5, f'b{b}', color='white',
                fontsize=8, va='top', bbox=dict(facecolor=color, alpha=0.8, pad=1, lw=0))
    ax.set_title(f'{osp.basename(preview.image_path)} ({w} x {h})\n'
                 f'grid {preview.grid[0]} x {preview.grid[1]}, gamma {preview.gamma:.2f}, '
                 f'overlap {preview.overlap_fraction():.0%}', fontsize=8)
    ax.axis('off')
    for p in range(num_pipes):
        for b in range(num_blocks):
            ax_v = fig.add_subplot(grid[p, b + 1])
            view = preview.views[p][b]
            ax_v.imshow(view, interpolation='nearest' if cell_w * dpi >= vw else 'antialiased')
            ax_v.set_xticks([])
            ax_v.set_yticks([])
            for spine in ax_v.spines.values():
                spine.set_edgecolor(colors[b % len(colors)])
                spine.set_linewidth(2)
            ax_v.set_title(f'pipeline {p}, b{b}', fontsize=7)
    return _save(fig, out_path, dpi, palette=True)
