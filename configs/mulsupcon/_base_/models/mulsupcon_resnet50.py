# MulSupCon image model (docs/algorithms/mulsupcon.md): MultiLabelMoCo with a ResNet-50 from
# scratch (SyncBN), the MulSupCon projection head 2048 -> 1024 -> 256 (dropout 0.1), a queue of
# 2048 keys and their labels (the reference default; a multiple of the global batch), key
# momentum 0.999, tau 0.1, MulSupCon positives without the 1/|y| weight. Configs set
# num_classes (the data set's class count).
model = dict(
    type='MultiLabelMoCo',
    num_classes=80,
    queue_len=2048,
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
