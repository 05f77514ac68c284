# Copyright (c) mlcl_plugin authors. All rights reserved.
from .multi_label_paper import MultiLabelPaperMetric

__all__ = ['MultiLabelPaperMetric']
