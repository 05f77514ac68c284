# Linear probe of a VOC07-pretrained MulSupCon ResNet-50 on VOC 2007, pretraining and probe on
# the same set (Table 6 "linear" and Table 8 PASCAL), Adam 0.01 as the other in-domain probes.
# ./resnet50_8xb8-linear-adam-30e_voc07.py is the transfer probe of Table 7 (Adam 0.04).
# Frozen backbone in eval mode + one linear layer, BCE, Adam lr 0.01 reduced x0.1 on a
# validation-BCE plateau; the checkpoint of lowest validation BCE (fold 0 of 10 of trainval, seed 0) is the one to test on
# the VOC07 test set. Pass the pretraining checkpoint (only `backbone.*` keys are loaded):
#   tools/dist_train.sh configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_voc07-indomain.py 8 \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/epoch_400.pth
#   tools/dist_test.sh configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_voc07-indomain.py \
#     work_dirs/resnet50_8xb8-linear-adam-30e_voc07-indomain/best_multi-label_bce_epoch_*.pth 8
_base_ = [
    '../../_base_/models/resnet50_multilabel_linear.py',
    '../../_base_/datasets/voc07_multilabel_224_valsplit.py',
    '../../_base_/schedules/adam_plateau_30e.py',
    '../../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=20))

custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
# the checkpoint of lowest validation BCE (the plateau schedule's monitor) is the one to test
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='multi-label/bce', rule='less'))
