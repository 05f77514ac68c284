# MulCon stage 2 on MIML scene: from the stage-1 checkpoint, two views per image, BCE + 0.5 x the
# label-level contrastive loss (tau 0.2, 128 -> 128 -> 128 projector) over the present labels'
# embeddings, SGD 0.01 (backbone and attention x 0.1), 32 images = 64 views per step, 5 epochs.
#   python tools/train.py configs/real_photos/mulcon-stage2_resnet18-w16_1xb32-sgd-5e_miml.py \
#     --cfg-options load_from=work_dirs/<stage 1>/best_multi-label_mAP_epoch_<n>.pth
_base_ = ['./mulcon-stage1_resnet18-w16_1xb64-adam-15e_miml.py']

load_from = None
model = dict(
    projector=dict(hid_channels=128, out_channels=128),
    contrast_loss=dict(type='LabelContrastiveLoss', temperature=0.2),
    contrast_weight=0.5)
train_dataloader = dict(
    batch_size=32,
    drop_last=True,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='MultiView', num_views=2, transforms=[{{_base_.cls_view_pipeline}}]),
        dict(type='PackInputs'),
    ]))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1), 'neck': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=5, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=5)
