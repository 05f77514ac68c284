# Copyright (c) mlcl_plugin authors. All rights reserved.
from .class_check_hook import MultiLabelClassCheckHook
from .label_prior_bias_hook import LabelPriorBiasHook, label_frequencies
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook

__all__ = ['LabelPriorBiasHook', 'MultiLabelClassCheckHook', 'NonFiniteLossError',
           'NonFiniteLossHook', 'label_frequencies']
