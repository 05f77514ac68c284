# Fine-tuning of a VOC07-pretrained MulSupCon ResNet-50 on VOC 2007 (Table 6 "finetune").
# Every layer trained, Adam 1e-4; plateau schedule, validation split and checkpoint selection as
# the linear probe ./resnet50_8xb8-linear-adam-30e_voc07-indomain.py.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/epoch_400.pth
_base_ = ['./resnet50_8xb8-linear-adam-30e_voc07-indomain.py']

model = dict(backbone=dict(frozen_stages=-1))
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4, weight_decay=0.))
