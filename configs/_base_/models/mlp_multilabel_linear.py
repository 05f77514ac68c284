# Downstream model of the MulSupCon vector track (the reference's `Simple`): the MLP backbone and
# one Linear layer to the classes, BCE-with-logits (mean over B x C entries). The input size and
# the class count belong to the data: the configs set them from their data-set config
# (`in_channels={{_base_.num_features}}`, `num_classes={{_base_.num_classes}}`), whose dataset
# checks them against its files; tools/benchmarks/reproduce_mulsupcon_vectors.py reads them from
# the data. They are left unset here so that a config that forgets them fails to build instead
# of silently training yeast's 103 -> 14 shape. Configs set the backbone init_cfg (pretrained) or
# leave it out (from scratch); the head's bias starts at the label prior (LabelPriorBiasHook in
# the schedule's hooks).
model = dict(
    type='ImageClassifier',
    # vectors are standardised by the dataset: no mean/std
    data_preprocessor=dict(type='ClsDataPreprocessor'),
    backbone=dict(type='MulSupConMLP', in_channels=None, dropout=0.2),
    neck=None,
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=None,
        in_channels=256,
        # mean over the classes, whatever num_classes the dataset sets (mmpretrain's head
        # with a plain CrossEntropyLoss(use_sigmoid=True) would sum them)
        loss=dict(type='ClassMeanBCELoss')))
