# Transfer (paper Table 7): linear probe of a COCO MulSupCon-pretrained ResNet-50 on PASCAL VOC
# 2007 (trainval -> test, mmpretrain's VOC dataset), frozen backbone, Adam with the initial lr
# 0.04 that the paper gives for its transfer runs (Table 7 text), reduced x0.1 on a
# validation-BCE plateau; checkpoint of lowest BCE on a seeded 10 % of trainval, tested once.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/epoch_400.pth
_base_ = [
    '../../_base_/models/resnet50_multilabel_linear.py',
    '../../_base_/datasets/voc07_multilabel_224_valsplit.py',
    '../../_base_/schedules/adam_plateau_30e.py',
    '../../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=20))
optim_wrapper = dict(optimizer=dict(lr=0.04))

custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
# the checkpoint of lowest validation BCE (the plateau schedule's monitor) is the one to test
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='multi-label/bce', rule='less'))
