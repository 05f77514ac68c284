# MulSupCon pretraining on MIRFLICKR-25k with the 1/|y| weight of Eq. 6 (Zhang & Wu, AAAI-24, Table 8 "Yes"): the COCO recipe of
# ./mulsupcon_resnet50_8xb8-coslr-400e_coco2014.py (ResNet-50 from scratch, 224 px, two views, SGD
# lr 0.1 cosine, 400 epochs, tau 0.1, queue 2048); every anchor weighs the same and its labels share the weight.
# Run: tools/dist_train.sh <this config> 8
_base_ = [
    './_base_/models/mulsupcon_resnet50.py',
    '../_base_/datasets/mirflickr25k_mulsupcon.py',
    '../_base_/schedules/sgd_coslr_400e.py',
    '../_base_/default_runtime.py',
]

model = dict(num_classes=24, head=dict(weighting='per_sample'))
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
