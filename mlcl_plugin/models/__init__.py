# Copyright (c) mlcl_plugin authors. All rights reserved.
from . import backbones, heads, losses, necks, selfsup, utils
