# Copyright (c) mlcl_plugin authors. All rights reserved.
from .mulsupcon_head import MulSupConHead

__all__ = ['MulSupConHead']
