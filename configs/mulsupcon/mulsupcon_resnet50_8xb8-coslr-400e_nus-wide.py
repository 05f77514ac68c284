# MulSupCon pretraining on the NUS-WIDE training list (81 concepts) (Zhang & Wu, AAAI-24, Table 6, and the source of Table 7(b)): the COCO recipe of
# ./mulsupcon_resnet50_8xb8-coslr-400e_coco2014.py (ResNet-50 from scratch, 224 px, two views, SGD
# lr 0.1 cosine, 400 epochs, tau 0.1, queue 2048), global batch 64 = 8 GPUs x 8.
# Run: tools/dist_train.sh <this config> 8
_base_ = [
    './_base_/models/mulsupcon_resnet50.py',
    '../_base_/datasets/nus_wide_mulsupcon.py',
    '../_base_/schedules/sgd_coslr_400e.py',
    '../_base_/default_runtime.py',
]

model = dict(num_classes=81)
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
