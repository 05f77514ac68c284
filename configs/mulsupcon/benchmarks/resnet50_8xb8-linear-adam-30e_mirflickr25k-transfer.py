# Transfer (paper Table 7): linear probe on MIRFLICKR-25k of a ResNet-50 trained on another set
# (COCO or NUS-WIDE; MulSupCon-pretrained, MulSupCon then fine-tuned, or BCE from scratch: the
# checkpoint decides), with the initial lr 0.04 the paper gives for its transfer runs.
# Frozen backbone in eval mode + one linear layer, BCE, Adam lr 0.04 reduced x0.1 on a
# validation-BCE plateau; the checkpoint of lowest validation BCE (a seeded 10 % of the 19,664 training images) is the one to test on
# the 4,917 test images. Pass the pretraining checkpoint (only `backbone.*` keys are loaded):
#   tools/dist_train.sh configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_mirflickr25k-transfer.py 8 \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/epoch_400.pth
#   tools/dist_test.sh configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_mirflickr25k-transfer.py \
#     work_dirs/resnet50_8xb8-linear-adam-30e_mirflickr25k-transfer/best_multi-label_bce_epoch_*.pth 8
_base_ = [
    '../../_base_/models/resnet50_multilabel_linear.py',
    '../../_base_/datasets/mirflickr25k_valsplit.py',
    '../../_base_/schedules/adam_plateau_30e.py',
    '../../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=24))
optim_wrapper = dict(optimizer=dict(lr=0.04))

custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
# the checkpoint of lowest validation BCE (the plateau schedule's monitor) is the one to test
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='multi-label/bce', rule='less'))
