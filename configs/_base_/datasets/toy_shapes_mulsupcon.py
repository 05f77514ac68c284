# ToyShapes (the embedded, generated default set; `python tools/misc/make_toy_shapes.py`):
# 32 px images with 1-3 shapes of 8 classes in random colours; two views with their labels.
dataset_type = 'MultiLabelDataset'
data_root = 'data/toy_shapes/'

view_pipeline = [
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.8, 1.0), backend='pillow'),
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
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type, data_root=data_root, ann_file='train.json', pipeline=train_pipeline))
