# Fine-tuning of a MulSupCon-pretrained ResNet-50 on COCO 2017: every layer trained, Adam 1e-4;
# plateau schedule, validation split and selection as the linear probe.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/epoch_400.pth
_base_ = ['./resnet50_8xb8-linear-adam-30e_coco2017.py']

model = dict(backbone=dict(frozen_stages=-1))
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.))
