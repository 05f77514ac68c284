# Copyright (c) mlcl_plugin authors. All rights reserved.
from .metrics import *  # noqa: F403
