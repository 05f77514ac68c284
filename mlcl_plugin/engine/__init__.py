# Copyright (c) mlcl_plugin authors. All rights reserved.
from .checkpoint_io import (
    apply_atomic_checkpoint_saves,
    restore_stock_checkpoint_saves,
    write_file_atomically,
    write_text_atomically,
)
from .hooks import *  # noqa: F403
from .runner import *  # noqa: F403
