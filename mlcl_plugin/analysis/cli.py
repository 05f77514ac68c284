# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Command-line options shared by the analysis and visualization tools."""
import argparse


def add_run_options(parser: argparse.ArgumentParser, scores: bool = False,
                    required: bool = True) -> None:
    """``--run NAME CONFIG CHECKPOINT`` (repeatable) and, optionally, ``--scores NAME NPZ``.

    Both append to ``args.runs`` in command-line order: a 3-tuple is a checkpoint, a 2-tuple a
    scores file.

    Args:
        parser (argparse.ArgumentParser): the tool's parser.
        scores (bool): also accept ``--scores``. Defaults to False.
        required (bool): at least one is required. Defaults to True.
    """
    parser.add_argument(
        '--run', dest='runs', action='append', nargs=3, metavar=('NAME', 'CONFIG', 'CKPT'),
        required=required and not scores,
        help='a checkpoint and the config it was trained with (the .py saved beside it); '
        'repeat for several runs')
    if scores:
        parser.add_argument(
            '--scores', dest='runs', action='append', nargs=2, metavar=('NAME', 'NPZ'),
            help='instead of a checkpoint: test scores saved by '
            'tools/benchmarks/benchmark_real_photos.py (<unit>/test_scores.npz, arrays '
            '"scores" and "targets")')


def add_data_options(parser: argparse.ArgumentParser, stage: bool = True) -> None:
    """Test set, embedding stage and loader options.

    Args:
        parser (argparse.ArgumentParser): the tool's parser.
        stage (bool): add ``--stage``. Defaults to True.
    """
    parser.add_argument(
        '--data-config', help='take test_dataloader.dataset from this config instead of the '
        "first run's (needed when every run is a pretraining, whose configs have none)")
    parser.add_argument('--data-root', help="replace the dataset's data_root (the real-photo "
                        'configs point at data/<set>/), e.g. ../shared/data/miml_scene')
    if stage:
        parser.add_argument(
            '--stage', choices=('backbone', 'neck'), default='backbone',
            help='embedding: the pooled backbone output (default) or the neck output (the '
            'projection head of a contrastive model)')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--num-workers', type=int, default=0,
                        help='data-loader workers (0: decode in this process)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch decides)')


def check_out(path: str) -> str:
    """An ``--out`` path must name a PNG file.

    Args:
        path (str): the value.

    Returns:
        str: the path.
    """
    if not path.lower().endswith('.png'):
        raise argparse.ArgumentTypeError(f'--out must end with .png, got {path!r}')
    return path


def add_output_options(parser: argparse.ArgumentParser, default: str) -> None:
    """``--out`` (a PNG path) and ``--dpi``.

    Args:
        parser (argparse.ArgumentParser): the tool's parser.
        default (str): the default PNG name.
    """
    parser.add_argument('--out', type=check_out, default=default,
                        help='output PNG (default: %(default)s)')
    parser.add_argument('--dpi', type=int, default=100,
                        help='PNG resolution in dots per inch (default: %(default)s)')
