# MulSupCon pretraining on the embedded ToyShapes set, sized for a CPU (the README main job).
# CIFAR-style ResNet-18 (3x3 stem, no max-pool) at quarter width (16 base channels), 32 px,
# queue 512, Adam 3e-3, 15 epochs: about 5 minutes on 2 CPU cores.
_base_ = [
    '../_base_/datasets/toy_shapes_mulsupcon.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='MultiLabelMoCo',
    num_classes=8,
    queue_len=512,
    feat_dim=128,
    momentum=0.05,  # key encoder 0.95 theta_k + 0.05 theta_q: a short schedule
    queue_mode='full',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet_CIFAR', depth=18, stem_channels=16, base_channels=16,
        norm_cfg=dict(type='BN'), zero_init_residual=False),
    neck=dict(type='MulSupConNeck', in_channels=128, out_channels=128, dropout=0.1),
    head=dict(type='MulSupConHead', temperature=0.1, positives='mulsupcon'))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=3e-3, weight_decay=1e-5))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=15, by_epoch=True, begin=0, end=15)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=15)
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=15, max_keep_ckpts=1))
