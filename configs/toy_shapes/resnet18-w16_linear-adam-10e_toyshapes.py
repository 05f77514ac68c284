# Linear probe on ToyShapes of a pretrained quarter-width CIFAR ResNet-18 (frozen, BN in eval
# mode).  --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/epoch_15.pth
_base_ = [
    '../_base_/datasets/toy_shapes_cls.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet_CIFAR', depth=18, stem_channels=16, base_channels=16, frozen_stages=4,
        norm_cfg=dict(type='BN'), zero_init_residual=False,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead', num_classes=8, in_channels=128,
        # BCE averaged over the classes as in the papers (mmpretrain's head sums them)
        loss=dict(type='ClassMeanBCELoss')))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=0.01, weight_decay=0.))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=10, by_epoch=True, begin=0, end=10)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10, val_interval=10)
val_cfg = dict()
test_cfg = dict()
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=1))
