# Copyright (c) mlcl_plugin authors. All rights reserved.
from .label_contrastive_loss import LabelContrastiveLoss
from .mulsupcon_loss import MulSupConLoss

__all__ = ['LabelContrastiveLoss', 'MulSupConLoss']
