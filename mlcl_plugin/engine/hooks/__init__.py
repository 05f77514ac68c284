# Copyright (c) mlcl_plugin authors. All rights reserved.
from .class_check_hook import MultiLabelClassCheckHook

__all__ = ['MultiLabelClassCheckHook']
