# Copyright (c) mlcl_plugin authors. All rights reserved.
from .class_check_hook import MultiLabelClassCheckHook
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook

__all__ = ['MultiLabelClassCheckHook', 'NonFiniteLossError', 'NonFiniteLossHook']
