# Copyright (c) mlcl_plugin authors. All rights reserved.
from .gather import GatherLayer, gather_no_grad, gather_with_grad, global_mean_factor
from .labels import multi_hot_from_samples

__all__ = ['GatherLayer', 'gather_no_grad', 'gather_with_grad', 'global_mean_factor',
           'multi_hot_from_samples']
