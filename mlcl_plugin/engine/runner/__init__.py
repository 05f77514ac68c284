# Copyright (c) mlcl_plugin authors. All rights reserved.
from .no_replay_loop import NoReplayIterBasedTrainLoop

__all__ = ['NoReplayIterBasedTrainLoop']
