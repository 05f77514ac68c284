# Copyright (c) mlcl_plugin authors. All rights reserved.
from .mulcon import LabelProjector, MulConClassifier

__all__ = ['LabelProjector', 'MulConClassifier']
