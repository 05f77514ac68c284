# Linear probe on PETA: the pretrained backbone frozen (all 4 stages, BN in eval mode), global
# average pooling and one linear layer trained with BCE (Adam 1e-2 cosine, 15 epochs):
#   python tools/train.py configs/real_photos/benchmarks/resnet18-w16_linear-1xb64-adam-15e_peta.py \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretraining>/epoch_15.pth
_base_ = ['../bce_resnet18-w16_1xb64-adam-15e_peta.py']

model = dict(
    backbone=dict(
        frozen_stages=4,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')))
optim_wrapper = dict(optimizer=dict(lr=1e-2, weight_decay=0.))
