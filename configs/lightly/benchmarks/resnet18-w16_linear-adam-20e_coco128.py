# Linear probe of the coco128 loss comparison: the pretrained quarter-width ResNet-18 frozen
# (BN in eval mode) + global average pooling + one linear layer (BCE), Adam 0.01 cosine,
# 20 epochs on the same 96 photos as pretraining (64 px, crop + flip), evaluated on the 30
# held-out labelled photos (resize 73 + centre crop 64). Pass the pretraining checkpoint:
#   python tools/train.py configs/lightly/benchmarks/resnet18-w16_linear-adam-20e_coco128.py \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/epoch_20.pth
_base_ = ['../../_base_/default_runtime.py']

dataset = dict(
    type='COCOMultiLabel',
    data_root='data/coco128/',
    ann_file='annotations/instances_train2017.json',
    data_prefix='train2017/')
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        **dataset,
        indices=list(range(96)),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=64, crop_ratio_range=(0.5, 1.0),
                 backend='pillow'),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackInputs'),
        ]))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        **dataset,
        indices=list(range(96, 126)),
        test_mode=True,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='ResizeEdge', scale=73, edge='short', backend='pillow'),
            dict(type='CenterCrop', crop_size=64),
            dict(type='PackInputs'),
        ]))
test_dataloader = val_dataloader
val_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True)
test_evaluator = val_evaluator

model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        num_classes=80,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
        to_onehot=True),
    backbone=dict(
        type='ResNet', depth=18, stem_channels=16, base_channels=16, frozen_stages=4,
        norm_cfg=dict(type='BN'), zero_init_residual=False,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead', num_classes=80, in_channels=128,
        # BCE averaged over the 80 classes as in the papers (mmpretrain's head sums them)
        loss=dict(type='ClassMeanBCELoss')))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=0.01, weight_decay=0.))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=20, by_epoch=True, begin=0, end=20)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20, val_interval=20)
val_cfg = dict()
test_cfg = dict()
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=6),
    checkpoint=dict(type='CheckpointHook', interval=20, max_keep_ckpts=1))
