# Downstream schedule of the MulSupCon protocol: Adam (lr 0.01 for a linear probe), 30 epochs,
# cosine, validation every 5 epochs.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=0.01, weight_decay=0.))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=30, by_epoch=True, begin=0, end=30)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
