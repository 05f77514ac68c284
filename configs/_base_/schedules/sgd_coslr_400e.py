# SGD, lr 0.1 at a global batch of 64, half-cosine over 400 epochs (MulSupCon image setting).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=400, by_epoch=True, begin=0, end=400, eta_min=0.0)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=400)
# `--auto-scale-lr` rescales lr linearly from this global batch (8 GPUs x 8 images).
auto_scale_lr = dict(base_batch_size=64)
