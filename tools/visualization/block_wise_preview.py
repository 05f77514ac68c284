# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Preview a config's BlockWiseAug on one image: the block grid and every view of every block.

The config's pipeline (train_dataloader first, else any pipeline of the config) is run up to
and including its BlockWiseAug on the image: the left panel shows the image as it enters the
transform with the overlapping blocks drawn on it (b0, b1, ... in the transform's order:
column-major, top-left first), the grid on the right one row per view pipeline and one column
per block. --gamma and --grid try another block configuration without editing the config.
Printed: image size, gamma, grid, block boxes, the fraction of the image covered by two or
more blocks, and the view size.

Example:
    python tools/visualization/block_wise_preview.py \\
        configs/real_photos/blocksimsiam_resnet18-w16_1xb64-sgd-15e_peta.py \\
        ../shared/data/peta/images/00001.png --out block_preview.png
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
    parser.add_argument('config', help='a config whose pipeline contains BlockWiseAug')
    parser.add_argument('image', help='an image file')
    parser.add_argument('--gamma', type=float, nargs='+',
                        help="replace the transform's gamma: one value, or LOW HIGH (a range)")
    parser.add_argument('--grid', type=int, nargs='+',
                        help="replace the transform's grid: N (N x N) or COLUMNS ROWS")
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random view transforms (default: %(default)s)')
    add_output_options(parser, 'block_wise_preview.png')
    args = parser.parse_args(argv)
    for name in ('gamma', 'grid'):
        value = getattr(args, name)
        if value is not None and len(value) > 2:
            parser.error(f'--{name} takes one or two values, got {value}')
    return args


def main(argv=None):
    """Draw the preview and print the block layout.

    Args:
        argv (list[str], optional): command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        dict: ``boxes`` (``num_blocks x 4`` list), ``gamma``, ``grid``, ``overlap``,
        ``view_shape``, ``num_views``, ``found_in`` (where the pipeline is), ``out``.
    """
    args = parse_args(argv)
    start = time.perf_counter()
    from mlcl_plugin.analysis.block_preview import find_block_wise_aug, preview_blocks
    from mlcl_plugin.analysis.loading import load_config
    from mlcl_plugin.analysis.plots import plot_block_preview

    cfg = load_config(args.config)
    pipeline, where = find_block_wise_aug(cfg, args.config)
    gamma = None if args.gamma is None else (
        args.gamma[0] if len(args.gamma) == 1 else tuple(args.gamma))
    grid = None if args.grid is None else (
        args.grid[0] if len(args.grid) == 1 else tuple(args.grid))
    preview = preview_blocks(pipeline, args.image, gamma=gamma, grid=grid, seed=args.seed)
    plot_block_preview(preview, args.out, dpi=args.dpi)
    h, w = preview.image.shape[:2]
    view_shape = preview.views[0][0].shape[:2]
    num_views = len(preview.views) * len(preview.views[0])
    print(f'BlockWiseAug of {args.config} (at {where}) on {args.image}')
    print(f'  image {w} x {h} px, grid {preview.grid[0]} x {preview.grid[1]} (columns x rows), '
          f'gamma {preview.gamma:.3f}')
    for b, (x0, y0, x1, y1) in enumerate(preview.boxes.tolist()):
        print(f'  b{b}: x {x0}-{x1}, y {y0}-{y1} ({x1 - x0} x {y1 - y0} px, '
              f'{(x1 - x0) * (y1 - y0) / (w * h):.0%} of the image)')
    print(f'  covered by 2+ blocks: {preview.overlap_fraction():.1%} of the image')
    print(f'  {len(preview.views)} pipelines x {len(preview.views[0])} blocks = {num_views} '
          f'views of {view_shape[1]} x {view_shape[0]} px')
    print(f'wrote {args.out} ({time.perf_counter() - start:.1f} s)')
    return dict(boxes=preview.boxes.tolist(), gamma=preview.gamma, grid=list(preview.grid),
                overlap=preview.overlap_fraction(), view_shape=list(view_shape),
                num_views=num_views, found_in=where, out=args.out)


if __name__ == '__main__':
    main()
