# Copyright (c) mlcl_plugin authors. All rights reserved.
from .hooks import *  # noqa: F403
