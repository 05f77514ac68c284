# Copyright (c) mlcl_plugin authors. All rights reserved.
from . import transforms
from .coco_multilabel import COCOMultiLabel

__all__ = ['COCOMultiLabel', 'transforms']
