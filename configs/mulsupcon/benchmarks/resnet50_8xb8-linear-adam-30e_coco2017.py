# Linear probe of a MulSupCon-pretrained ResNet-50 on COCO 2017 (the paper's split is 2014:
# ./resnet50_8xb8-linear-adam-30e_coco2014.py): frozen backbone in eval mode, Adam lr 0.01,
# BCE. Pass the pretraining checkpoint on the command line:
#   tools/dist_train.sh configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_coco2017.py 8 \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/epoch_400.pth
# Only `backbone.*` keys are loaded (prefix='backbone.').
_base_ = [
    '../../_base_/models/resnet50_multilabel_linear.py',
    '../../_base_/datasets/coco2017_multilabel_224.py',
    '../../_base_/schedules/adam_30e_linear.py',
    '../../_base_/default_runtime.py',
]

custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2,
                    save_best='multi-label/mAP', rule='greater'))
