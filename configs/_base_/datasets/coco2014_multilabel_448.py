# COCO 2014 multi-label classification at 448 px, ML-GCN split (MulCon, docs/algorithms/mulcon.md):
# train2014 / val2014, images without annotations dropped, classes in alphabetical order.
# Train: RandomResizedCrop 448 (area 0.875-1) + flip + RandAugment; test: warp-resize 448 x 448.
# The reference's RandAugment is the PyPI `randaugment` package with its defaults; mmpretrain's
# RandAugment (2 ops, magnitude 9 of 10) stands in for it (not bit-identical).
dataset_type = 'COCOMultiLabel'
data_root = 'data/coco/'

data_preprocessor = dict(
    num_classes=80,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
    to_onehot=True)

rand_augment = dict(
    type='RandAugment',
    policies='timm_increasing',
    num_policies=2,
    total_level=10,
    magnitude_level=9,
    magnitude_std=0.5,
    hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=448, crop_ratio_range=(0.875, 1.0), backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    rand_augment,
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(448, 448), keep_ratio=False),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2014.json',
        data_prefix='train2014/',
        class_order='alphabetical',
        pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2014.json',
        data_prefix='val2014/',
        class_order='alphabetical',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# The papers' metrics plus the ML-GCN CP/CR/CF1/OP/OR/OF1 (and top-3) at probability >= 0.5.
val_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True)
test_evaluator = val_evaluator
