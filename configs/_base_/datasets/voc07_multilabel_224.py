# PASCAL VOC 2007 (mmpretrain's `VOC` dataset), 224 px: trainval for training, test for eval.
# Difficult objects: mmpretrain's VOC marks them in gt_label_difficult; the paper metric counts
# them as negatives (as the 2506.23156 reference), mmpretrain's VOCAveragePrecision ignores them.
dataset_type = 'VOC'
data_root = 'data/VOCdevkit/VOC2007/'

data_preprocessor = dict(
    num_classes=20,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
    to_onehot=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(
        type='PackInputs',
        meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                   'flip_direction', 'gt_label_difficult')),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='trainval',
                 pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True),
    # standard VOC07 mAP (difficult objects ignored), logged as voc/mAP for reference
    dict(type='VOCAveragePrecision', prefix='voc'),
]
test_evaluator = val_evaluator
