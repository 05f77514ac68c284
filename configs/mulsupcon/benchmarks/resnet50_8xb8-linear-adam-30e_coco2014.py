# Linear probe of a MulSupCon-pretrained ResNet-50 on COCO 2014, the paper's split (Table 1:
# 82,081 train / 40,137 test): frozen backbone in eval mode, Adam lr 0.01, BCE.
#   tools/dist_train.sh configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_coco2014.py 8 \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/epoch_400.pth
_base_ = [
    '../../_base_/models/resnet50_multilabel_linear.py',
    '../../_base_/datasets/coco2014_multilabel_224.py',
    '../../_base_/schedules/adam_30e_linear.py',
    '../../_base_/default_runtime.py',
]

custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2,
                    save_best='multi-label/mAP', rule='greater'))
