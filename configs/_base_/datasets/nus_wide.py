# NUS-WIDE multi-label classification at 224 px, the 81 ground-truth concepts of the official
# release (docs/datasets/nus_wide.md). Official split: ImageList/TrainImagelist.txt (161,789
# images) for training, ImageList/TestImagelist.txt (107,859) for evaluation; labels from
# Groundtruth/TrainTestLabels/Labels_<concept>_{Train,Test}.txt; images without any of the 81
# concepts are dropped (keep_empty=True keeps them as all-negative samples).
# Train: the same augmentation as the MulSupCon views; test: resize 256 + centre crop 224.
dataset_type = 'NUSWIDE'
data_root = 'data/nus-wide/'

data_preprocessor = dict(
    num_classes=81,
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
        split='train',
        label_source='train_test',
        data_prefix='Flickr',
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
        split='test',
        label_source='train_test',
        data_prefix='Flickr',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# The papers' metrics (mAP, HA, example/macro/micro-F1, P@1) and the ML-GCN CP/CR/CF1/OP/OR/OF1.
val_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True)
test_evaluator = val_evaluator
