# Copyright (c) mlcl_plugin authors. All rights reserved.
from .block_wise_aug import BlockWiseAug, block_boxes, reference_pipelines
from .feature_mask import RandomFeatureMask
from .loading import CheckedLoadImageFromFile, ImageLoadError

__all__ = [
    'BlockWiseAug', 'CheckedLoadImageFromFile', 'ImageLoadError', 'RandomFeatureMask',
    'block_boxes', 'reference_pipelines'
]
