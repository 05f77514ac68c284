# Downstream model of the MulSupCon vector track (the reference's `Simple`): the MLP backbone and
# one Linear layer to the classes, BCE-with-logits (mean over B x C entries). Datasets set
# num_features / num_classes; configs set the backbone init_cfg (pretrained) or leave it out
# (from scratch).
model = dict(
    type='ImageClassifier',
    # vectors are standardised by the dataset: no mean/std
    data_preprocessor=dict(type='ClsDataPreprocessor'),
    backbone=dict(type='MulSupConMLP', in_channels=103, dropout=0.2),
    neck=None,
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=14,
        in_channels=256,
        # mean over the classes, whatever num_classes the dataset sets (mmpretrain's head
        # with a plain CrossEntropyLoss(use_sigmoid=True) would sum them)
        loss=dict(type='ClassMeanBCELoss')))
