# MulCon stage 1 at 576 x 576 px, the paper's higher-resolution COCO row (arXiv 2107.11626): the
# 448 px recipe of ./mulcon-stage1_resnet101_2xb16-adamw-25e_coco-448px.py (ResNet-101, AdamW,
# 25 epochs, EMA) with every image at 576 px: RandomResizedCrop 576 (area 0.875-1) + flip +
# RandAugment for training, warp-resize 576 x 576 for evaluation. The 18 x 18 = 324 image tokens
# of the label-wise attention follow from the resolution; nothing else changes.
# Run: tools/dist_train.sh configs/mulcon/mulcon-stage1_resnet101_2xb16-adamw-25e_coco-576px.py 2
_base_ = ['./mulcon-stage1_resnet101_2xb16-adamw-25e_coco-448px.py']

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=576, crop_ratio_range=(0.875, 1.0), backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    {{_base_.rand_augment}},
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(576, 576), keep_ratio=False),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
