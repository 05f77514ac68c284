# Copyright (c) mlcl_plugin authors. All rights reserved.
from .mulsupcon_neck import MulSupConNeck

__all__ = ['MulSupConNeck']
