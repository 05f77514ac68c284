# Copyright (c) mlcl_plugin authors. All rights reserved.
from .block_moco import BlockMoCo
from .block_simsiam import BlockSimSiam, split_block_views
from .multilabel_moco import MultiLabelMoCo

__all__ = ['BlockMoCo', 'BlockSimSiam', 'MultiLabelMoCo', 'split_block_views']
