# MulSupCon pretraining on COCO 2017 (Zhang & Wu, AAAI-24): ResNet-50 from scratch, 224 px,
# two views (crop + colour jitter + grayscale), SGD lr 0.1 cosine, 400 epochs, tau 0.1,
# global batch 64 = 8 GPUs x 8 with SyncBN. Run: tools/dist_train.sh <this config> 8
_base_ = [
    '../_base_/datasets/coco_multilabel_mulsupcon.py',
    '../_base_/schedules/sgd_coslr_400e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='MultiLabelMoCo',
    num_classes=80,
    queue_len=2048,  # reference default; a multiple of the global batch 64
    feat_dim=256,
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
    neck=dict(type='MulSupConNeck', in_channels=2048, out_channels=256, dropout=0.1),
    head=dict(type='MulSupConHead', temperature=0.1, positives='mulsupcon', weighting='none'))

custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
