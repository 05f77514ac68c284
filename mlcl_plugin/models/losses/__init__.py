# Copyright (c) mlcl_plugin authors. All rights reserved.
from .mulsupcon_loss import MulSupConLoss

__all__ = ['MulSupConLoss']
