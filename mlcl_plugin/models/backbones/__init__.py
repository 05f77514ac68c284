# Copyright (c) mlcl_plugin authors. All rights reserved.
from .mlp import MulSupConMLP

__all__ = ['MulSupConMLP']
