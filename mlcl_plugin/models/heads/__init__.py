# Copyright (c) mlcl_plugin authors. All rights reserved.
from .label_wise_cls_head import LabelWiseLinearClsHead
from .mulsupcon_head import MulSupConHead

__all__ = ['LabelWiseLinearClsHead', 'MulSupConHead']
