# Copyright (c) mlcl_plugin authors. All rights reserved.
from .label_wise_attention import LabelWiseAttentionNeck, MultiheadAttentionBlock
from .mulsupcon_neck import MulSupConNeck

__all__ = ['LabelWiseAttentionNeck', 'MulSupConNeck', 'MultiheadAttentionBlock']
