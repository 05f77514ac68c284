# Copyright (c) mlcl_plugin authors. All rights reserved.
from . import transforms
from .coco_multilabel import COCOMultiLabel
from .toy_shapes import TOY_SHAPES_CLASSES, make_toy_shapes

__all__ = ['COCOMultiLabel', 'TOY_SHAPES_CLASSES', 'make_toy_shapes', 'transforms']
