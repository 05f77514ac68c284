# Copyright (c) mlcl_plugin authors. All rights reserved.
from .backbones import *  # noqa: F403
from .classifiers import *  # noqa: F403
from .data_preprocessors import *  # noqa: F403
from .heads import *  # noqa: F403
from .losses import *  # noqa: F403
from .necks import *  # noqa: F403
from .selfsup import *  # noqa: F403
from .utils import *  # noqa: F403
