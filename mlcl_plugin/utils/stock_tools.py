# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Run mmpretrain's own command-line tools, as shipped inside the mmpretrain wheel.

The mmpretrain wheel carries its repository's ``tools/`` folder as ``mmpretrain/.mim/tools``.
The scripts in this repository's ``tools/`` only put the repository root on ``sys.path`` (so
``custom_imports=['mlcl_plugin']`` works without installing the plugin) and then run the stock
script unchanged, with the same command-line interface.
"""
import os.path as osp
import runpy
import sys


def stock_tool_path(name: str) -> str:
    """Path of a stock mmpretrain tool, e.g. ``'train.py'`` or ``'analysis_tools/x.py'``.

    Raises:
        FileNotFoundError: if the installed mmpretrain does not ship the tool (e.g. an
            install from a source tree without ``.mim``).
    """
    import mmpretrain

    path = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools', name)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'stock mmpretrain tool {name!r} not found at {path}; install mmpretrain from its '
            'wheel (pip install mmpretrain) which ships tools/ under mmpretrain/.mim')
    return path


def run_stock_tool(name: str, argv=None) -> None:
    """Run a stock mmpretrain tool as ``__main__`` with ``sys.argv[1:] = argv``.

    Args:
        name (str): tool path relative to mmpretrain's ``tools/`` folder.
        argv (list[str], optional): arguments; defaults to the current ``sys.argv[1:]``.
    """
    path = stock_tool_path(name)
    sys.argv = [path] + list(sys.argv[1:] if argv is None else argv)
    runpy.run_path(path, run_name='__main__')
