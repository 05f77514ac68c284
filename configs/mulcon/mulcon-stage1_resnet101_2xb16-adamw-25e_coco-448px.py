# MulCon stage 1 (Dao et al., arXiv 2107.11626; docs/algorithms/mulcon.md): ImageNet ResNet-101 ->
# label-wise attention (2 token self-attention blocks, cross-attention from 80 label queries,
# label self-attention; 4 heads, 1024-d label embeddings) -> 80 per-label linear scorers, BCE only.
# COCO 2014 at 448 px, AdamW (lr 2e-4, backbone x0.1, wd 1e-4), global batch 32, 25 epochs:
# per-iteration linear warm-up from 0.1x over 5 epochs, then per-epoch cosine to 0; EMA of all
# weights (decay 0.9997) through mmengine's EMAHook, so every checkpoint's `state_dict` holds the
# EMA weights (the raw ones are under `ema_state_dict`) and validation uses the EMA model.
# Run: tools/dist_train.sh configs/mulcon/mulcon-stage1_resnet101_2xb16-adamw-25e_coco-448px.py 2
# (add --amp for the reference's mixed precision). Stage 2 starts from epoch_15.pth.
_base_ = [
    '../_base_/datasets/coco2014_multilabel_448.py',
    '../_base_/default_runtime.py',
]

num_classes = 80
# mmpretrain's ImageNet ResNet-101 (keys prefixed `backbone.`). The reference uses torchvision's
# weights: init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101') (no prefix).
pretrained = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet101_8xb32_in1k_20210831-539c63f8.pth'

model = dict(
    type='MulConClassifier',
    backbone=dict(
        type='ResNet',
        depth=101,
        out_indices=(3, ),
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(
        type='LabelWiseAttentionNeck',
        in_channels=2048,
        num_classes=num_classes,
        embed_dims=1024,
        num_heads=4,
        num_token_layers=2,
        scale='full'),  # reference: scores / sqrt(full width); 'head' = textbook
    head=dict(
        type='LabelWiseLinearClsHead',
        num_classes=num_classes,
        in_channels=1024,
        thr=0.5,
        # the reference's mean BCE over B x L (a plain CrossEntropyLoss would sum the classes)
        loss=dict(type='ClassMeanBCELoss')))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=20, eta_min=0., by_epoch=True, begin=5, end=25),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=25, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)

custom_hooks = [
    # mmengine convention: ema <- (1 - momentum) * ema + momentum * model, i.e. decay 0.9997
    dict(type='EMAHook', momentum=0.0003, update_buffers=True, priority='ABOVE_NORMAL'),
    dict(type='MultiLabelClassCheckHook'),
    dict(type='NonFiniteLossHook'),
]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=-1,
                    save_best='multi-label/mAP', rule='greater'))
