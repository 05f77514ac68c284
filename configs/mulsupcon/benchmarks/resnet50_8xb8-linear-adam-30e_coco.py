# Linear probe of a MulSupCon-pretrained ResNet-50 on COCO 2017 (frozen backbone in eval mode,
# Adam lr 0.01, BCE). Pass the pretraining checkpoint on the command line:
#   tools/dist_train.sh configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_coco.py 8 \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/epoch_400.pth
# Only `backbone.*` keys are loaded (prefix='backbone.').
_base_ = [
    '../../_base_/datasets/coco_multilabel_224.py',
    '../../_base_/default_runtime.py',
]
custom_imports = dict(imports=['mlcl_plugin'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=50,
        frozen_stages=4,  # every stage frozen, BN in eval mode
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=80,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True)))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=0.01, weight_decay=0.))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=30, by_epoch=True, begin=0, end=30)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
custom_hooks = [dict(type='MultiLabelClassCheckHook')]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2,
                    save_best='multi-label/mAP', rule='greater'))
