# Contrastive pretraining schedule of the MoCo-style methods (MulSupCon, ALL / ANY, MoCo v2,
# BlockMoCo, the Lightly loss): Adam 3e-3, weight decay 1e-5, cosine to 0, batch 64. Adam
# instead of MoCo's SGD 0.03 because these runs are short (tens of epochs from scratch), where
# it converges faster at the same setting for every method.
_base_ = ['../../../_base_/default_runtime.py']  # + the default runtime

pretrain_epochs = 15
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=3e-3, weight_decay=1e-5))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=pretrain_epochs, by_epoch=True, begin=0,
         end=pretrain_epochs, convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=pretrain_epochs)
val_cfg = None
test_cfg = None
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=1))
