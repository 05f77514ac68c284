# Copyright (c) mlcl_plugin authors. All rights reserved.
from .feature_mask_preprocessor import FeatureMaskDataPreprocessor

__all__ = ['FeatureMaskDataPreprocessor']
