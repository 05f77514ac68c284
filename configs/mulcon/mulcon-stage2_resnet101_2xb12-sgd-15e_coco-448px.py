# MulCon stage 2 (docs/algorithms/mulcon.md): BCE + 0.5 x label-level SupCon (tau 0.2) over the projected
# (1024 -> 1024 -> 128), L2-normalised embeddings of the labels present in each image, two views
# per image (warp-resize 448 + flip + RandAugment each), positives = the same class in other
# images and in the other view. Initialised from the stage-1 EMA checkpoint of epoch 15 (its
# `state_dict` holds the EMA weights); the projector is new. SGD momentum 0.9, wd 1e-4, lr 0.01
# for head and projector, 0.001 for backbone and attention neck, x0.1 every 20 epochs; global
# batch 24 images = 48 views; EMA 0.9997. The reference's test command loads stage-2 epoch 15,
# so 15 epochs are run here (inferred). Embeddings are all-gathered across GPUs for the contrast,
# as the reference's DataParallel contrasts the whole batch.
# Run: tools/dist_train.sh configs/mulcon/mulcon-stage2_resnet101_2xb12-sgd-15e_coco-448px.py 2 \
#   --cfg-options load_from=work_dirs/<stage-1 work dir>/epoch_15.pth
_base_ = ['./mulcon-stage1_resnet101_2xb16-adamw-25e_coco-448px.py']

load_from = 'work_dirs/mulcon-stage1_resnet101_2xb16-adamw-25e_coco-448px/epoch_15.pth'

model = dict(
    backbone=dict(init_cfg=None),  # every stage-1 weight comes from `load_from`
    projector=dict(hid_channels=1024, out_channels=128),
    contrast_loss=dict(type='LabelContrastiveLoss', temperature=0.2),
    contrast_weight=0.5)

view_pipeline = [
    dict(type='Resize', scale=(448, 448), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    {{_base_.rand_augment}},
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=12,
    drop_last=True,  # every rank gathers the same number of embeddings
    dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={
        'backbone': dict(lr_mult=0.1),
        'neck': dict(lr_mult=0.1)
    }))
param_scheduler = [dict(type='StepLR', step_size=20, gamma=0.1, by_epoch=True, begin=0, end=15)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=15, val_interval=1)
auto_scale_lr = dict(base_batch_size=24)
