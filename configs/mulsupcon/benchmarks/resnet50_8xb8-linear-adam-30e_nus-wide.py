# Linear probe of a NUS-WIDE MulSupCon-pretrained ResNet-50 on NUS-WIDE (Table 6 "linear").
# Frozen backbone in eval mode + one linear layer, BCE, Adam lr 0.01 reduced x0.1 on a
# validation-BCE plateau; the checkpoint of lowest validation BCE (a seeded 10 % of the training list) is the one to test on
# the official test list. Pass the pretraining checkpoint (only `backbone.*` keys are loaded):
#   tools/dist_train.sh configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_nus-wide.py 8 \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/epoch_400.pth
#   tools/dist_test.sh configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_nus-wide.py \
#     work_dirs/resnet50_8xb8-linear-adam-30e_nus-wide/best_multi-label_bce_epoch_*.pth 8
_base_ = [
    '../../_base_/models/resnet50_multilabel_linear.py',
    '../../_base_/datasets/nus_wide_valsplit.py',
    '../../_base_/schedules/adam_plateau_30e.py',
    '../../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=81))

custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
# the checkpoint of lowest validation BCE (the plateau schedule's monitor) is the one to test
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='multi-label/bce', rule='less'))
