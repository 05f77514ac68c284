# Loss comparison on the coco128 photos, CPU-sized (tools/benchmarks/compare_lightly_losses.py):
# MultiLabelMoCo + MulSupCon. The Lightly variants in this folder inherit everything from this
# file and swap only the head. ResNet-18 at quarter width (16 base channels, 128-d output),
# 64 px views (crop 0.2-1 + flip + colour jitter + grayscale), queue of 128 keys and labels,
# key-encoder momentum 0.99, Adam 3e-3 cosine, 20 epochs of the first 96 labelled photos (the
# other 30 are held out for the linear probe's evaluation). coco128 = the first 128 COCO
# train2017 photos; link it at data/coco128 or pass
#   --cfg-options train_dataloader.dataset.data_root=/path/to/coco128
_base_ = ['../_base_/default_runtime.py']

view_pipeline = [
    dict(type='RandomResizedCrop', scale=64, crop_ratio_range=(0.2, 1.0), backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='COCOMultiLabel',
        data_root='data/coco128/',
        ann_file='annotations/instances_train2017.json',
        data_prefix='train2017/',
        indices=list(range(96)),  # of the 126 photos with labels; 96-125 are held out
        pipeline=[
            # decode the ~640 x 480 JPEGs at half size: the smallest crop (20 % of the area)
            # still has >= 64 / sqrt(0.2) = 143 px on its short side, and the full decode kept
            # two loader workers behind this small model
            dict(type='LoadImageFromFile', decode_min_side=144),
            dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
            dict(type='PackInputs'),
        ]))

model = dict(
    type='MultiLabelMoCo',
    num_classes=80,
    queue_len=128,
    feat_dim=128,
    momentum=0.01,  # mmengine convention: theta_k <- 0.99 theta_k + 0.01 theta_q
    queue_mode='full',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet', depth=18, stem_channels=16, base_channels=16,
        norm_cfg=dict(type='BN'), zero_init_residual=False),
    neck=dict(type='MulSupConNeck', in_channels=128, out_channels=128, dropout=0.1),
    head=dict(type='MulSupConHead', temperature=0.1, positives='mulsupcon'))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=3e-3, weight_decay=1e-5))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=20, by_epoch=True, begin=0, end=20)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20)
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=6),
    checkpoint=dict(type='CheckpointHook', interval=20, max_keep_ckpts=1))
