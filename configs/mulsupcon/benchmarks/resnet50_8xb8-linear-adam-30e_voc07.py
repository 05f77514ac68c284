# Transfer: linear probe of a COCO MulSupCon-pretrained ResNet-50 on PASCAL VOC 2007
# (trainval -> test, mmpretrain's VOC dataset), frozen backbone, Adam lr 0.01.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/epoch_400.pth
_base_ = [
    '../../_base_/models/resnet50_multilabel_linear.py',
    '../../_base_/datasets/voc07_multilabel_224.py',
    '../../_base_/schedules/adam_30e_linear.py',
    '../../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=20))

custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2,
                    save_best='multi-label/mAP', rule='greater'))
