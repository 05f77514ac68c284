# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Stock mmpretrain `tools/test.py`, runnable from this repository without installing the plugin.

Same interface as mmpretrain's own script (it *is* that script, run from the mmpretrain wheel):
`python tools/test.py --help`.

Importing the plugin first (``mlcl_plugin.utils``) applies its checkpoint-loading policy
(``weights_only=True`` plus a short allowlist; opt-in ``MLCL_TRUST_CHECKPOINTS=1``) and its
resume checks to this process, whatever the config imports: see SECURITY.md.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mlcl_plugin.utils import run_stock_tool

if __name__ == '__main__':
    run_stock_tool('test.py')
