# Stock mmpretrain SimSiam (the unmodified `SimSiam` class, `NonLinearNeck` projector,
# `LatentPredictHead`) on the PETA training photos, no labels: the baseline of BlockSimSiam,
# with the same backbone, views, optimiser and epochs.
_base_ = [
    '../_base_/datasets/peta.py',
    '_base_/models/resnet18_w16.py',
    '_base_/schedules/pretrain_sgd_simsiam.py',
]

train_dataloader = {{_base_.pretrain_dataloader}}
# pretraining has no validation / test loop
val_dataloader = val_evaluator = test_dataloader = test_evaluator = None
model = dict(
    type='SimSiam',
    data_preprocessor={{_base_.selfsup_preprocessor}},
    backbone={{_base_.backbone_zero_init}},
    neck=dict(type='NonLinearNeck', in_channels=128, hid_channels=512, out_channels=512,
              num_layers=3, with_last_bn_affine=False, with_avg_pool=True),
    head=dict(
        type='LatentPredictHead',
        loss=dict(type='CosineSimilarityLoss'),
        predictor=dict(type='NonLinearNeck', in_channels=512, hid_channels=128,
                       out_channels=512, with_avg_pool=False, with_last_bn=False,
                       with_last_bias=True)))
