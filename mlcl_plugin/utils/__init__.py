# Copyright (c) mlcl_plugin authors. All rights reserved.
from .stock_tools import run_stock_tool, stock_tool_path

__all__ = ['run_stock_tool', 'stock_tool_path']
