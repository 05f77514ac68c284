# MulSupCon pretraining (MultiLabelMoCo + MulSupConHead, AAAI-24) on the PETA training
# photos: two views (crop, flip), a momentum key encoder (0.99) and a
# queue of 4,096 keys with their multi-hot labels; each of a query's labels makes one positive set
# (the keys sharing that label), temperature 0.1. Labels are used; the test split is not.
_base_ = [
    '../_base_/datasets/peta.py',
    '_base_/models/resnet18_w16.py',
    '_base_/schedules/pretrain_adam.py',
]

# Views: the supervised runs' crops (scale 0.6 - 1, flip), not the MoCo v2 views. The labels
# define the positives, and on PETA the lighter views scored higher on the validation split
# in tools/benchmarks/probe_pretraining.py (table in ./README.md). The rest is
# _base_.pretrain_dataloader (drop_last keeps the queue a multiple of the batch).
train_dataloader = dict(
    drop_last=True,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='MultiView', num_views=2, transforms=[{{_base_.cls_view_pipeline}}]),
        dict(type='PackInputs'),
    ]))
# pretraining has no validation / test loop
val_dataloader = val_evaluator = test_dataloader = test_evaluator = None
model = dict(
    type='MultiLabelMoCo',
    num_classes=35,
    queue_len=4096,
    feat_dim=128,
    momentum=0.01,  # mmengine convention: theta_k <- 0.99 theta_k + 0.01 theta_q
    queue_mode='full',
    data_preprocessor={{_base_.selfsup_preprocessor}},
    backbone={{_base_.backbone}},
    neck=dict(type='MulSupConNeck', in_channels=128, out_channels=128, dropout=0.1),
    head=dict(type='MulSupConHead', temperature=0.1, positives='mulsupcon'))
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
