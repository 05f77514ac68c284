# COCO 2017 multi-label, two augmented views per image with their labels (MulSupCon pretraining;
# ./coco2014_mulsupcon.py is the paper's 2014 split).
# Views: RandomResizedCrop 224 + flip + ColorJitter(0.4, 0.4, 0.4, 0.1) p=0.8 + grayscale p=0.2
# (the "SimCLR" recipe of the MulSupCon code). ImageNet mean/std (the reference code uses the
# CIFAR-10 constants; documented difference).
dataset_type = 'COCOMultiLabel'
data_root = 'data/coco/'

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

view_pipeline = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0), backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989)),
]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),  # keeps gt_label for the label queue
]

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,  # every rank must contribute the same number of keys to the queue
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix='train2017/',
        pipeline=train_pipeline))
