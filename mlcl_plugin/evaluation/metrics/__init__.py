# Copyright (c) mlcl_plugin authors. All rights reserved.
from .multi_label_paper import MultiLabelPaperMetric, val_chosen_metrics

__all__ = ['MultiLabelPaperMetric', 'val_chosen_metrics']
