# Copyright (c) mlcl_plugin authors. All rights reserved.
from .gather import GatherLayer, gather_no_grad, gather_with_grad, global_mean_factor
from .label_memory_bank import LabelMemoryBank
from .labels import multi_hot_from_samples
from .momentum_encoder import MomentumEncoder

__all__ = ['GatherLayer', 'gather_no_grad', 'gather_with_grad', 'global_mean_factor',
           'LabelMemoryBank', 'MomentumEncoder', 'multi_hot_from_samples']
