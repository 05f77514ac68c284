# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Generate the embedded default multi-label image set (ToyShapes) used by the main job.

Example:
    python tools/misc/make_toy_shapes.py data/toy_shapes
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mlcl_plugin.datasets.toy_shapes import make_toy_shapes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', nargs='?', default='data/toy_shapes', help='output folder')
    parser.add_argument('--num-train', type=int, default=2400)
    parser.add_argument('--num-test', type=int, default=600)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--max-objects', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true')
    args = parser.parse_args(argv)
    files = make_toy_shapes(args.root, num_train=args.num_train, num_test=args.num_test,
                            size=args.size, max_objects=args.max_objects, seed=args.seed,
                            overwrite=args.overwrite)
    print(f'ToyShapes ready: {files["train"]} ({args.num_train} images), '
          f'{files["test"]} ({args.num_test} images)')


if __name__ == '__main__':
    main()
