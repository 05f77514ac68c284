# Downstream schedule of the MulSupCon protocol (paper, "Settings": Adam, lr 0.01 for a linear
# probe, 1e-4 for fine-tuning, "reduce the learning rate by a factor of 0.1 when it plateaus"):
# 30 epochs, validation after every epoch on the split carved out of train, mmengine's
# ReduceOnPlateauLR on the validation BCE (factor 0.1, patience 2, cooldown 1, relative
# threshold 1e-3: the authors' code's ReduceLROnPlateau, whose monitor is the dev BCE), and the
# checkpoint of lowest validation BCE kept for the one test run (the authors' code reports the
# test split at the epoch of lowest dev BCE; the configs set CheckpointHook(save_best=
# 'multi-label/bce', rule='less'), tests/test_configs_protocol.py checks that the two agree).
# The cosine variant: *-coslr-* configs replace param_scheduler.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=0.01, weight_decay=0.))
param_scheduler = [
    dict(type='ReduceOnPlateauLR', monitor='multi-label/bce', rule='less', factor=0.1,
         patience=2, cooldown=1, threshold=1e-3, threshold_rule='rel', by_epoch=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
