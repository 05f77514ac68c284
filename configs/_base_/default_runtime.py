# Runtime shared by every mlcl_plugin config (self-contained: no `mmpretrain::` base, so no
# collate_fn `_scope_` trap and no pkg_resources lookup).
default_scope = 'mmpretrain'
# The one place that imports the plugin for every config built on this runtime (mmengine reads
# custom_imports after merging the bases). A config that starts from a stock mmpretrain config
# instead (see configs/mulsupcon/mulsupcon_mocov2-base_*) writes this line itself.
custom_imports = dict(imports=['mlcl_plugin'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)
# Stop at the first NaN / inf loss, before its optimizer step and any checkpoint (a config that
# sets its own custom_hooks lists it again: mmengine replaces lists, it does not merge them).
custom_hooks = [dict(type='NonFiniteLossHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; mlcl_plugin switches to gloo on a machine without CUDA
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
