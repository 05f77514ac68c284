# Copyright (c) mlcl_plugin authors. All rights reserved.
"""mlcl_plugin: multi-label contrastive representation learning for mmpretrain 1.x.

Importing the package applies the compatibility fixes of :mod:`mlcl_plugin.compat` and
registers every component into mmpretrain's own registries (``mmpretrain.registry``), so a
config only needs ``custom_imports = dict(imports=['mlcl_plugin'], allow_failed_imports=False)``.
"""
from . import compat

compat.apply_all()

from . import datasets, engine, evaluation, models, utils  # noqa: E402  (registers after fixes)
from .engine import checkpoint_io  # noqa: E402  (crash-safe checkpoint saves, issue 13)
from .version import __version__, version_info  # noqa: E402

__all__ = [
    '__version__', 'version_info', 'compat', 'datasets', 'engine', 'evaluation', 'models',
    'utils'
]
