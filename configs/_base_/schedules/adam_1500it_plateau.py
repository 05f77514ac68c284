# MulSupCon vector downstream schedule (docs/algorithms/mulsupcon.md): Adam lr 4e-4, 30 "epochs" of 50 iterations
# at batch 32, validation after every epoch; ReduceLROnPlateau on the validation BCE (factor 0.1,
# patience 2, cooldown 1, relative threshold 1e-3); early stop after 20 epochs without a better
# validation BCE. The configs add the early stop and the checkpoint of lowest validation BCE.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=4e-4, weight_decay=0.))
param_scheduler = [
    dict(type='ReduceOnPlateauLR', monitor='multi-label/bce', rule='less', factor=0.1,
         patience=2, cooldown=1, threshold=1e-3, threshold_rule='rel', by_epoch=True),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1500, val_interval=50)
val_cfg = dict()
test_cfg = dict()
