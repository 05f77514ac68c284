# MulCon stage 2 at 576 x 576 px (arXiv 2107.11626, the paper's 576 px COCO row): the recipe of
# ./mulcon-stage2_resnet101_2xb12-sgd-15e_coco-448px.py (BCE + 0.5 x label-level contrast, SGD,
# 15 epochs, EMA) with both views warp-resized to 576 px and evaluation at 576 x 576, started from
# the 576 px stage 1.
# Run: tools/dist_train.sh configs/mulcon/mulcon-stage2_resnet101_2xb12-sgd-15e_coco-576px.py 2 \
#   --cfg-options load_from=work_dirs/mulcon-stage1_resnet101_2xb16-adamw-25e_coco-576px/epoch_15.pth
_base_ = ['./mulcon-stage2_resnet101_2xb12-sgd-15e_coco-448px.py']

load_from = 'work_dirs/mulcon-stage1_resnet101_2xb16-adamw-25e_coco-576px/epoch_15.pth'

view_pipeline = [
    dict(type='Resize', scale=(576, 576), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    {{_base_.rand_augment}},
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
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
