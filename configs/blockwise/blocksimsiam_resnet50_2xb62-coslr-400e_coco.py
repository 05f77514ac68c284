# Block-wise SSL pretraining on COCO 2017 train, the faithful reproduction of the arXiv 2506.23156
# COCO script (docs/algorithms/blockwise.md): ResNet-50 from scratch, 2 x 2 blocks with gamma 0.3, 8 views,
# SimSiam + 4 x image-aware loss, 124 images per step (2 GPUs x 62, SyncBN, drop_last), SGD
# momentum 0.9, weight decay 1e-4, lr 0.05 x batch x 4 / 256 = 0.096875 (the x 4 counts the blocks),
# half-cosine per epoch without warm-up, 400 epochs, seed 3407; the predictor lr is not fixed.
# Run: tools/dist_train.sh configs/blockwise/blocksimsiam_resnet50_2xb62-coslr-400e_coco.py 2
# `--auto-scale-lr` keeps lr proportional to the image batch (base 124), as the reference.
# Across GPUs the image-aware term contrasts each GPU's blocks locally (BlockSimSiam's default
# ia_scope='local', as the reference); model.ia_scope='global' contrasts them with the blocks of
# every GPU instead (docs/algorithms/blockwise.md).
_base_ = [
    '../_base_/datasets/coco_blockwise_pretrain.py',
    './_base_/models/blocksimsiam_resnet50.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05 * 124 * 4 / 256, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=400, by_epoch=True, begin=0, end=400, eta_min=0.0)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=400)
auto_scale_lr = dict(base_batch_size=124)

randomness = dict(seed=3407, deterministic=False)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
