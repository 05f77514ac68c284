# MIML natural scenes (Zhou & Zhang, NIPS 2006): 2,000 real photos (mostly 384 x 256 px),
# labels desert / mountains / sea / sunset / trees, split 1,600 train / 400 test. A validation
# part is carved out of train (20 %, seed 0, MultiLabelCsvDataset's subset='val'): model and
# threshold selection use it, never the test split. Everything runs at 112 x 112 px.
# Read straight from the release's labels.csv (one 0/1 column per label). Research use.
data_root = 'data/miml_scene/'
num_classes = 5
img_scale = (112, 112)  # (h, w)
crop_aspect = (3. / 4., 4. / 3.)

csv_dataset = dict(
    type='MultiLabelCsvDataset',
    data_root=data_root,
    ann_file='labels.csv',
    label_format='columns',
    image_column='Filenames',
    data_prefix='images/')
train_split = dict(split_file='splits/train.txt', subset='train', val_fraction=0.2, val_seed=0)
val_split = dict(split_file='splits/train.txt', subset='val', val_fraction=0.2, val_seed=0)
test_split = dict(split_file='splits/test.txt')

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
# block 0.8 of each image side), both pipelines on every block: 8 views per image, at 3/4 of the
# two-view size per side (CPU budget; see the PETA base for the reasoning).
block_scale = (84, 84)
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
