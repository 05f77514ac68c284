# Copyright (c) mlcl_plugin authors. All rights reserved.
from .feature_mask_preprocessor import FeatureMaskDataPreprocessor
from .multi_view_cls_preprocessor import MultiViewClsDataPreprocessor

__all__ = ['FeatureMaskDataPreprocessor', 'MultiViewClsDataPreprocessor']
