# A CPU-sized MulCon stage 2 on coco128 (see the stage-1 coco128 config): two 128 px views per
# image, BCE + 0.5 x label-level contrast (tau 0.2, 256 -> 256 -> 128 projector), SGD lr 0.01
# (backbone and neck x0.1), 8 images = 16 views per batch, 4 epochs, EMA decay 0.95, starting
# from the stage-1 coco128 checkpoint (its `state_dict` holds the EMA weights).
#   python tools/train.py configs/mulcon/mulcon-stage2_resnet18_1xb8-sgd-4e_coco128-128px.py \
#     --cfg-options load_from=work_dirs/<stage-1 coco128 work dir>/epoch_8.pth
_base_ = ['./mulcon-stage1_resnet18_1xb16-adamw-8e_coco128-128px.py']

load_from = 'work_dirs/mulcon-stage1_resnet18_1xb16-adamw-8e_coco128-128px/epoch_8.pth'

model = dict(
    projector=dict(hid_channels=256, out_channels=128),
    contrast_loss=dict(type='LabelContrastiveLoss', temperature=0.2),
    contrast_weight=0.5)

view_pipeline = [
    dict(type='Resize', scale=(128, 128), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    {{_base_.rand_augment}},
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=8, drop_last=True, dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={
        'backbone': dict(lr_mult=0.1),
        'neck': dict(lr_mult=0.1)
    }))
param_scheduler = [dict(type='StepLR', step_size=20, gamma=0.1, by_epoch=True, begin=0, end=4)]
train_cfg = dict(max_epochs=4, val_interval=2)
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(checkpoint=dict(interval=4))
