# Linear probe of a GPU-recipe pretrained ResNet-50 on MIML scene: the GPU BCE recipe
# (./bce_resnet50_1xb256-adam-30e_miml.py) from the backbone of a pretraining checkpoint:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretraining>/epoch_100.pth
_base_ = ['./bce_resnet50_1xb256-adam-30e_miml.py']

model = dict(
    backbone=dict(
        frozen_stages=4,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')))
optim_wrapper = dict(optimizer=dict(lr=1e-2, weight_decay=0.))
