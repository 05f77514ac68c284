# Copyright (c) mlcl_plugin authors. All rights reserved.
from .avg_max_pooling import AvgMaxPooling
from .label_wise_attention import LabelWiseAttentionNeck, MultiheadAttentionBlock
from .mulsupcon_neck import MulSupConNeck

__all__ = ['AvgMaxPooling', 'LabelWiseAttentionNeck', 'MulSupConNeck', 'MultiheadAttentionBlock']
