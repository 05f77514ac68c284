# Stock mmpretrain MoCo v2 (the unmodified `MoCo` class, `MoCoV2Neck`, `ContrastiveHead`,
# temperature 0.2) on the MIML scene training photos, no labels: the unsupervised baseline of
# MulSupCon and BlockMoCo, with the same backbone, views, queue length, key momentum, optimiser
# and epochs as ./mulsupcon_resnet18-w16_1xb64-adam-15e_miml.py.
_base_ = [
    '../_base_/datasets/miml_scene.py',
    '_base_/models/resnet18_w16.py',
    '_base_/schedules/pretrain_adam.py',
]

train_dataloader = {{_base_.pretrain_dataloader}}
# pretraining has no validation / test loop
val_dataloader = val_evaluator = test_dataloader = test_evaluator = None
model = dict(
    type='MoCo',
    queue_len=4096,
    feat_dim=128,
    momentum=0.01,
    data_preprocessor={{_base_.selfsup_preprocessor}},
    backbone={{_base_.backbone}},
    neck=dict(type='MoCoV2Neck', in_channels=128, hid_channels=128, out_channels=128,
              with_avg_pool=True),
    head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), temperature=0.2))
