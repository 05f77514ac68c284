# Copyright (c) mlcl_plugin authors. All rights reserved.
from .class_mean_bce_loss import ClassMeanBCELoss
from .image_aware_loss import ImageAwareLoss
from .label_contrastive_loss import LabelContrastiveLoss
from .mulsupcon_loss import MulSupConLoss

__all__ = ['ClassMeanBCELoss', 'ImageAwareLoss', 'LabelContrastiveLoss', 'MulSupConLoss']
