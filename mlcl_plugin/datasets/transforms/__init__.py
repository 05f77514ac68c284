# Copyright (c) mlcl_plugin authors. All rights reserved.
from .feature_mask import RandomFeatureMask

__all__ = ['RandomFeatureMask']
