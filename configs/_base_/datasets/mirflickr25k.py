# MIRFLICKR-25k multi-label classification at 224 px, the 24 "potential" labels of the official
# annotation files (annotations/<label>.txt, not the stricter <label>_r1.txt), see
# docs/datasets/mirflickr25k.md. The 24,581 images with at least one label are split at random
# (numpy.random.default_rng(split_seed).permutation over ascending image numbers; the first
# floor(0.8 * N) = 19,664 train, the other 4,917 test: the sizes of the MulSupCon paper, which
# gives no split file). The release has no validation split, so val = test as for COCO; pass
# split_file=... to use a fixed list instead of the seeded split.
# Train: the same augmentation as the MulSupCon views; test: resize 256 + centre crop 224.
dataset_type = 'MIRFlickr25k'
data_root = 'data/mirflickr25k/'
split_seed = 0
train_fraction = 0.8

data_preprocessor = dict(
    num_classes=24,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
    to_onehot=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0), backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='mirflickr',
        ann_dir='annotations',
        label_set='potential',
        split='train',
        split_seed=split_seed,
        train_fraction=train_fraction,
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
        data_prefix='mirflickr',
        ann_dir='annotations',
        label_set='potential',
        split='test',
        split_seed=split_seed,
        train_fraction=train_fraction,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# The papers' metrics (mAP, HA, example/macro/micro-F1, P@1) and the ML-GCN CP/CR/CF1/OP/OR/OF1.
val_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True)
test_evaluator = val_evaluator
