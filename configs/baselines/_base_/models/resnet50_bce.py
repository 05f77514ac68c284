# The BCE-from-scratch model of the MulSupCon protocol: ResNet-50 from random initialisation
# (SyncBN), global average pooling, one linear multi-label layer. Configs set num_classes.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet', depth=50, norm_cfg=dict(type='SyncBN'), zero_init_residual=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=80,
        in_channels=2048,
        # BCE averaged over the classes as in the MulSupCon code (nn.BCEWithLogitsLoss); the
        # plain CrossEntropyLoss(use_sigmoid=True) summed them: C x the schedule's SGD lr
        loss=dict(type='ClassMeanBCELoss')))
