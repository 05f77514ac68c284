# COCO 2017 multi-label classification at 224 px with the MulSupCon downstream protocol's splits
# (BCE baseline, linear probe, fine-tuning; ./coco2014_multilabel_224.py is the paper's 2014
# split): the checkpoint is selected on a validation split carved out of train2017 (a seeded
# 10 %: COCOMultiLabel subset='train' / 'val', val_fraction=0.1, val_seed=0, the
# numpy.random.default_rng(0) permutation of the images kept), and val2017 is the test split,
# evaluated only at the selected checkpoint (tools/test.py). Validation reports the BCE that
# selects the checkpoint and drives ReduceOnPlateauLR; the test evaluator adds the papers'
# oracle-threshold sweep under separate oracle_* keys (the threshold is chosen on the test split
# itself: an oracle, not a fair score).
# Train: the same augmentation as the MulSupCon views; val / test: resize 256 + centre crop 224.
dataset_type = 'COCOMultiLabel'
data_root = 'data/coco/'
val_fraction = 0.1
val_seed = 0

data_preprocessor = dict(
    num_classes=80,
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
        ann_file='annotations/instances_train2017.json',
        data_prefix='train2017/',
        subset='train',
        val_fraction=val_fraction,
        val_seed=val_seed,
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
        ann_file='annotations/instances_train2017.json',
        data_prefix='train2017/',
        subset='val',
        val_fraction=val_fraction,
        val_seed=val_seed,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix='val2017/',
        test_mode=True,
        pipeline=test_pipeline))

# The papers' metrics (mAP, HA, example/macro/micro-F1, P@1), the ML-GCN CP/CR/CF1/OP/OR/OF1 and
# the BCE (the selection criterion); the test split adds the oracle sweep (oracle_* keys).
val_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True, bce=True)
test_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True, bce=True, oracle=True)
