# SimSiam-style pretraining schedule (stock SimSiam and BlockSimSiam): SGD momentum 0.9,
# weight decay 1e-4, lr 0.05 for 64 images, cosine, the predictor at a fixed lr (mmpretrain's
# SimSiamHook). The block-wise paper's rule 0.05 x images x 4 / 256 gives the same 0.05 at 64
# images, so both methods share it.
_base_ = ['../../../_base_/default_runtime.py']  # + the default runtime

pretrain_epochs = 15
lr = 0.05
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=lr, weight_decay=1e-4, momentum=0.9),
    paramwise_cfg=dict(custom_keys={'predictor': dict(fix_lr=True)}))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=pretrain_epochs, by_epoch=True, begin=0,
         end=pretrain_epochs, convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=pretrain_epochs)
custom_hooks = [
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=lr),
    dict(type='NonFiniteLossHook'),
]
val_cfg = None
test_cfg = None
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=1))
