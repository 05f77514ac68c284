# Copyright (c) mlcl_plugin authors. All rights reserved.
from .multilabel_moco import MultiLabelMoCo

__all__ = ['MultiLabelMoCo']
