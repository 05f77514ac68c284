# Downstream schedule (BCE from scratch, fine-tune, linear probe): Adam, cosine, one validation
# per epoch on the validation split, the checkpoint of best validation mAP kept for the test.
_base_ = ['../../../_base_/default_runtime.py']  # + the default runtime

downstream_epochs = 15
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-5))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=downstream_epochs, by_epoch=True, begin=0,
         end=downstream_epochs, convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=downstream_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(type='CheckpointHook', interval=-1, max_keep_ckpts=1, save_last=False,
                    save_best='multi-label/mAP', rule='greater'))
