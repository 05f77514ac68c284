# A CPU-sized MulCon stage 1 on coco128 (the 126 annotated images of the first 128 COCO train2017
# photos): train on the first 96, validate on the other 30. Same model family and recipe as the
# ResNet-101 config, shrunk: ResNet-18 from random init (no ImageNet weights offline), 128 px,
# 512-d tokens (4 x 4), 256-d label embeddings, 8 epochs, lr 1e-3 everywhere (random init), EMA
# decay 0.95 (the reference's 0.9997 would keep the EMA at the initial weights for 48 steps).
# It checks the pipeline end to end; its metrics say nothing about the paper's numbers.
# Run (from the repo root, data under data/coco128 or via tools/benchmarks/run_mulcon_coco128.py):
#   python tools/train.py configs/mulcon/mulcon-stage1_resnet18_1xb16-adamw-8e_coco128-128px.py
_base_ = ['./mulcon-stage1_resnet101_2xb16-adamw-25e_coco-448px.py']

data_root = 'data/coco128/'
image_size = 128

model = dict(
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=512, embed_dims=256),
    head=dict(in_channels=256))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=image_size, crop_ratio_range=(0.875, 1.0),
         backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    {{_base_.rand_augment}},
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=False),
    dict(type='PackInputs'),
]
coco128 = dict(
    data_root=data_root,
    ann_file='annotations/instances_train2017.json',
    data_prefix='train2017/',
    class_order='coco')
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(**coco128, indices=96, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(**coco128, indices=list(range(96, 126)), pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(lr=1e-3), paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=1.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=7, eta_min=0., by_epoch=True, begin=1, end=8),
]
train_cfg = dict(max_epochs=8, val_interval=2)
auto_scale_lr = dict(base_batch_size=16)
custom_hooks = [
    dict(type='EMAHook', momentum=0.05, update_buffers=True, priority='ABOVE_NORMAL'),
    dict(type='MultiLabelClassCheckHook'),
    dict(type='NonFiniteLossHook'),
]
default_hooks = dict(
    logger=dict(interval=2),
    checkpoint=dict(type='CheckpointHook', interval=8, max_keep_ckpts=1, save_best=None,
                    rule=None))
