# ResNet-50 (loaded from a pretraining checkpoint, every stage frozen, BN in eval mode) +
# global average pooling + one linear multi-label layer trained with BCE.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=50,
        frozen_stages=4,
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=80,
        in_channels=2048,
        # BCE averaged over the classes as in the MulSupCon code (nn.BCEWithLogitsLoss);
        # mmpretrain's head with a plain CrossEntropyLoss(use_sigmoid=True) sums them
        loss=dict(type='ClassMeanBCELoss')))
