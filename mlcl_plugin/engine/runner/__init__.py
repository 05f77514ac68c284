# Copyright (c) mlcl_plugin authors. All rights reserved.
from .no_replay_loop import NoReplayIterBasedTrainLoop
from .resume import ResumeRNGStateHook, apply_resume_safety, check_resume_source

# resume checks and random-number state for every runner of a process that imports the plugin
# (issue 13, finding 9); idempotent
apply_resume_safety()

__all__ = [
    'NoReplayIterBasedTrainLoop', 'ResumeRNGStateHook', 'apply_resume_safety',
    'check_resume_source'
]
