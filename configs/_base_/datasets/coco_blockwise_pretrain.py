# COCO 2017 train for block-wise self-supervised pretraining (arXiv 2506.23156, docs/algorithms/blockwise.md):
# every image is cut once into a 2 x 2 grid of overlapping blocks (each 1/2 + gamma of each side,
# gamma 0.3 as the reference COCO script) and the reference's two view pipelines T1 / T2 run on
# every block -> 8 views per image (views 0-3: T1 on TL, BL, TR, BR; 4-7: T2 on the same blocks).
# Images without annotations are dropped (COCOMultiLabel's default), as the reference; labels are
# not used by the pretraining.
dataset_type = 'COCOMultiLabel'
data_root = 'data/coco/'

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# T1: crop (scale 0.2-1) + colour jitter p 0.8 + grayscale p 0.2 + blur p 0.5 + solarise p 0.5
# + flip; T2: the same with blur p 0.1 and solarise p 0.2 (the reference's torchvision recipe)
view_pipeline1 = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.0), backend='pillow'),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.5),
    dict(type='Solarize', thr=128, prob=0.5),
    dict(type='RandomFlip', prob=0.5),
]
view_pipeline2 = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.0), backend='pillow'),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
    dict(type='RandomFlip', prob=0.5),
]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='BlockWiseAug', gamma=0.3, grid=2, transforms=[view_pipeline1, view_pipeline2]),
    # the view layout travels to the model, which checks it
    dict(type='PackInputs', algorithm_keys=['block_idx', 'pipeline_idx']),
]

train_dataloader = dict(
    batch_size=62,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,  # every rank must hold the same number of images (gathered features)
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix='train2017/',
        pipeline=train_pipeline))
