# MoCo with the image-aware loss on block views (BlockMoCo, no labels): queries are the 4 blocks
# of pipeline T1, keys the 4 blocks of T2 from the momentum encoder; a query's positives are the
# 4 keys of its image, every other key of the global batch and the queue are negatives. MoCo v2
# recipe otherwise (mmpretrain's mocov2_resnet50_8xb32-coslr-200e_in1k: 2048-2048-128 neck,
# momentum 0.999, SGD lr 0.03 at 256 images, cosine, 200 epochs) on COCO 2017 train with the
# reference's blocks (gamma 0.3). No reference exists for this variant: tau 0.2 is MoCo v2's and
# tau0 = tau keeps the loss at MoCo's scale so that its lr applies.
# Queue: 65536 keys, a multiple of the 8 x 32 x 4 = 1024 keys per step.
# Run: tools/dist_train.sh configs/blockwise/blockmoco_resnet50_8xb32-coslr-200e_coco.py 8
_base_ = [
    '../_base_/datasets/coco_blockwise_pretrain.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='BlockMoCo',
    queue_len=65536,
    feat_dim=128,
    momentum=0.001,  # mmengine convention: theta_k <- 0.999 theta_k + 0.001 theta_q
    queue_mode='full',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),
    neck=dict(
        type='MoCoV2Neck', in_channels=2048, hid_channels=2048, out_channels=128,
        with_avg_pool=True),
    head=dict(
        type='ImageAwareHead', temperature=0.2, base_temperature=0.2, form='log_sum'))

train_dataloader = dict(batch_size=32)

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=200, by_epoch=True, begin=0, end=200, eta_min=0.0)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
