# Copyright (c) mlcl_plugin authors. All rights reserved.
from .image_aware_head import ImageAwareHead
from .label_wise_cls_head import LabelWiseLinearClsHead
from .lightly_loss_head import LightlyLossHead
from .mulsupcon_head import MulSupConHead
from .simsiam_head import SimSiamHead

__all__ = ['ImageAwareHead', 'LabelWiseLinearClsHead', 'LightlyLossHead', 'MulSupConHead',
           'SimSiamHead']
