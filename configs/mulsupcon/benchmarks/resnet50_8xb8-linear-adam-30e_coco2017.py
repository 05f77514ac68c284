# Linear probe of a MulSupCon-pretrained ResNet-50 on COCO 2017 (the paper's split is 2014:
# ./resnet50_8xb8-linear-adam-30e_coco2014.py): frozen backbone in
# eval mode + one linear layer, BCE, Adam lr 0.01 reduced x0.1 on a validation-BCE plateau; the
# checkpoint of lowest validation BCE (on a seeded 10 % of train2017) is the one to test on
# val2017. Pass the pretraining checkpoint (only `backbone.*` keys are loaded):
#   tools/dist_train.sh configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_coco2017.py 8 \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/epoch_400.pth
#   tools/dist_test.sh configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_coco2017.py \
#     work_dirs/resnet50_8xb8-linear-adam-30e_coco2017/best_multi-label_bce_epoch_*.pth 8
_base_ = [
    '../../_base_/models/resnet50_multilabel_linear.py',
    '../../_base_/datasets/coco2017_multilabel_224.py',
    '../../_base_/schedules/adam_plateau_30e.py',
    '../../_base_/default_runtime.py',
]

custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
# the checkpoint of lowest validation BCE (the plateau schedule's monitor) is the one to test
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='multi-label/bce', rule='less'))
