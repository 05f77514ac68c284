# BCE from scratch on MIML scene: ResNet-18 at quarter width, global average pooling, one linear
# layer, BCE averaged over the 5 classes (mmpretrain's multi-label head sums it: loss_weight 1/C),
# 15 epochs of Adam 1e-3 cosine; the checkpoint of best validation mAP is the one tested.
# The fine-tune and linear-probe configs in benchmarks/ inherit from this one.
_base_ = [
    '../_base_/datasets/miml_scene.py',
    '_base_/models/resnet18_w16.py',
    '_base_/schedules/downstream_adam.py',
]

model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        num_classes=5,
        mean={{_base_.mean}},
        std={{_base_.std}},
        to_rgb=True,
        to_onehot=True),
    backbone={{_base_.backbone}},
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead', num_classes=5, in_channels=128,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0 / 5)))
