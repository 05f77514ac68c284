# Objects365 multi-label classification at 224 px: an image's labels are the categories of its
# boxes (365 classes, ascending category id), read from the COCO-format json of the v2 release
# (docs/datasets/objects365.md). The papers train on a seeded random subset of the images:
# set train_subset_size / val_subset_size (None keeps every image; the MulSupCon paper's exact
# sizes were not available when this file was written) in a copy of this file, or override
# train_dataloader = dict(dataset=dict(subset_size=...)) in a derived config (mmengine has
# already substituted these variables into the dicts below). A subset is the first subset_size
# images of numpy.random.default_rng(subset_seed).permutation over the kept images in
# ascending image id order, so a smaller one with the same seed lies inside a larger one.
# v2 file names (images/v1/patch8/objects365_v1_00420917.jpg) are cut to patch8/... to match
# the extracted patch archives; the three train images of the json missing from the archives
# are left out. For v1 use data_root='data/Objects365/Obj365_v1/',
# ann_file='annotations/objects365_{train,val}.json', file_name_mode='as_is' and no exclusions.
# Train: the same augmentation as the MulSupCon views; test: resize 256 + centre crop 224.
dataset_type = 'Objects365MultiLabel'
data_root = 'data/Objects365/Obj365_v2/'
train_subset_size = None
val_subset_size = None
subset_seed = 0

data_preprocessor = dict(
    num_classes=365,
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
        ann_file='annotations/zhiyuan_objv2_train.json',
        data_prefix='train/',
        file_name_mode='patch',
        # mmdetection's list of the v2 train images that the archives do not contain
        exclude_file_names=[
            'patch16/objects365_v2_00908726.jpg',
            'patch6/objects365_v1_00320532.jpg',
            'patch6/objects365_v1_00320534.jpg',
        ],
        subset_size=train_subset_size,
        subset_seed=subset_seed,
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
        ann_file='annotations/zhiyuan_objv2_val.json',
        data_prefix='val/',
        file_name_mode='patch',
        subset_size=val_subset_size,
        subset_seed=subset_seed,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# The papers' metrics (mAP, HA, example/macro/micro-F1, P@1) and the ML-GCN CP/CR/CF1/OP/OR/OF1.
val_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True)
test_evaluator = val_evaluator
