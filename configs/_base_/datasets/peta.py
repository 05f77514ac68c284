# PETA pedestrian attributes (Deng et al., ACM MM 2014): 19,000 real surveillance photos, the
# standard 35 attributes, the usual random split 9,500 train / 1,900 val / 7,600 test.
# Read straight from the release's CSV by MultiLabelCsvDataset (no converter). Images are small
# (median 74 x 160 px), so every view is 128 x 64 (h x w); crops keep a pedestrian's 1:2 shape.
# Licence: research use only. Point data_root at your copy (the benchmark passes it).
data_root = 'data/peta/'
num_classes = 35
img_scale = (128, 64)  # (h, w)
crop_aspect = (0.375, 0.667)  # w / h of the crops: 1:2 +- the usual 3/4..4/3 jitter

csv_dataset = dict(
    type='MultiLabelCsvDataset',
    data_root=data_root,
    ann_file='annotations.csv',
    label_format='names',
    image_column='image',
    label_column='attributes',
    classes='attributes_35.txt',
    vocabulary='attributes_all.txt')
train_split = dict(split_file='splits/random_train.txt')
val_split = dict(split_file='splits/random_val.txt')
test_split = dict(split_file='splits/random_test.txt')

# supervised training (BCE, fine-tune, linear probe)
cls_view_pipeline = [
    dict(type='RandomResizedCrop', scale=img_scale, crop_ratio_range=(0.6, 1.0),
         aspect_ratio_range=crop_aspect, backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
]
train_pipeline = [dict(type='LoadImageFromFile'), *cls_view_pipeline, dict(type='PackInputs')]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_scale[1], img_scale[0]), keep_ratio=False, backend='pillow'),
    dict(type='PackInputs'),
]

# self-supervised / contrastive views (MoCo v2 / SimSiam recipe, at this size)
color_jitter = dict(
    type='RandomApply',
    transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)],
    prob=0.8)
gray = dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
            channel_weights=(0.114, 0.587, 0.2989))
view_pipeline = [
    dict(type='RandomResizedCrop', scale=img_scale, crop_ratio_range=(0.2, 1.0),
         aspect_ratio_range=crop_aspect, backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    color_jitter,
    gray,
]
two_view_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
# block-wise views (arXiv 2506.23156): a 2 x 2 grid of overlapping blocks (gamma 0.3, each
# block 0.8 of each image side), both pipelines on every block: 8 views per image. The views
# are 3/4 of the two-view size on each side (CPU budget: 8 x 0.56 = 4.5 two-view-sized views
# instead of 8); a crop of a block then has about the pixel scale of the same crop of the whole
# image in the two-view recipe.
block_scale = (96, 48)
block_view_pipeline = [
    dict(type='RandomResizedCrop', scale=block_scale, crop_ratio_range=(0.2, 1.0),
         aspect_ratio_range=crop_aspect, backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    color_jitter,
    gray,
]
block_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='BlockWiseAug', gamma=0.3, grid=2, transforms=[block_view_pipeline, block_view_pipeline]),
    dict(type='PackInputs', algorithm_keys=['block_idx', 'pipeline_idx']),
]

loader = dict(
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    collate_fn=dict(type='default_collate'))
train_dataloader = dict(
    batch_size=64,
    **loader,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**csv_dataset, **train_split, pipeline=train_pipeline))
# pretraining: the same training images, views instead of one crop; drop_last keeps the
# queue a multiple of the batch
pretrain_dataloader = dict(
    batch_size=64,
    **loader,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**csv_dataset, **train_split, pipeline=two_view_pipeline))
val_dataloader = dict(
    batch_size=128,
    **loader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**csv_dataset, **val_split, test_mode=True, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=128,
    **loader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**csv_dataset, **test_split, test_mode=True, pipeline=test_pipeline))
val_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, attributes=True)
test_evaluator = val_evaluator
