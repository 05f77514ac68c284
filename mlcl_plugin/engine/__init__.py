# Copyright (c) mlcl_plugin authors. All rights reserved.
from .hooks import *  # noqa: F403
from .runner import *  # noqa: F403
