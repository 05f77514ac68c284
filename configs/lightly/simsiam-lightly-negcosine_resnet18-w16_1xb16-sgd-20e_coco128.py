# mmpretrain's stock SimSiam recipe with Lightly's NegativeCosineSimilarity, through config
# alone: LightlyLossHead with a predictor and a stop-gradient on the target is exactly the
# stock LatentPredictHead(loss=CosineSimilarityLoss) (tested). The predictor keeps a fixed lr
# (paramwise 'predictor' + SimSiamHook) as in mmpretrain's simsiam configs. Data and backbone
# as ./mlmoco-mulsupcon_resnet18-w16_1xb16-adam-20e_coco128.py; labels are not used.
_base_ = ['./mlmoco-mulsupcon_resnet18-w16_1xb16-adam-20e_coco128.py']

model = dict(
    _delete_=True,
    type='SimSiam',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet', depth=18, stem_channels=16, base_channels=16,
        norm_cfg=dict(type='BN'), zero_init_residual=True),
    neck=dict(type='NonLinearNeck', in_channels=128, hid_channels=512, out_channels=512,
              num_layers=3, with_last_bn_affine=False, with_avg_pool=True),
    head=dict(
        type='LightlyLossHead',
        loss=dict(type='NegativeCosineSimilarity'),
        detach_target=True,
        predictor=dict(type='NonLinearNeck', in_channels=512, hid_channels=128,
                       out_channels=512, with_avg_pool=False, with_last_bn=False,
                       with_last_bias=True)))

lr = 0.05
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=lr, weight_decay=1e-4, momentum=0.9),
    paramwise_cfg=dict(custom_keys={'predictor': dict(fix_lr=True)}))
custom_hooks = [
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=lr),
    dict(type='NonFiniteLossHook'),
]
