# MulSupCon vector pretraining schedule (docs/algorithms/mulsupcon.md): Adam lr 4e-4, weight decay 1e-5, 150 "epochs"
# of 1000 iterations, cosine annealing with warm restarts (T0 = 50 epochs, T_mult = 2, so two
# cycles of 50k and 100k iterations, eta_min 1e-4). The reference steps its scheduler once per
# 1000 iterations; here the cosine moves every iteration (same curve, without the staircase).
# foreach: one fused update over all parameters instead of a Python loop of small kernels per
# tensor (the same arithmetic); for this small MLP the per-tensor loop is a visible share of
# the step on a CPU
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=4e-4, weight_decay=1e-5, foreach=True))
param_scheduler = [
    dict(type='CosineRestartLR', periods=[50000, 100000], restart_weights=[1.0, 1.0],
         eta_min=1e-4, by_epoch=False, begin=0, end=150000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=150000)
