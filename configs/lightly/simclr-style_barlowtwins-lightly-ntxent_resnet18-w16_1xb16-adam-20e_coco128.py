# A Lightly loss in one of mmpretrain's stock algorithms, through config alone: the stock
# `BarlowTwins` algorithm encodes both views with the trained encoder and calls
# `head.loss(z1, z2)` once, which with Lightly's NTXentLoss (no memory bank) is SimCLR.
# (mmpretrain's own SimCLR / MoCo pass similarity logits to their head and cannot carry a
# two-view loss; see LightlyLossHead.) Data, backbone and schedule as
# ./mlmoco-mulsupcon_resnet18-w16_1xb16-adam-20e_coco128.py; labels are not used.
_base_ = ['./mlmoco-mulsupcon_resnet18-w16_1xb16-adam-20e_coco128.py']

model = dict(
    _delete_=True,
    type='BarlowTwins',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet', depth=18, stem_channels=16, base_channels=16,
        norm_cfg=dict(type='BN'), zero_init_residual=False),
    neck=dict(type='NonLinearNeck', in_channels=128, hid_channels=512, out_channels=128,
              num_layers=2, with_avg_pool=True),
    head=dict(type='LightlyLossHead', loss=dict(type='NTXentLoss', temperature=0.1)))
custom_hooks = [dict(type='NonFiniteLossHook')]
