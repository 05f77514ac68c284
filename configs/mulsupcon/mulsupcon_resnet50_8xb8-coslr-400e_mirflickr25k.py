# MulSupCon pretraining on MIRFLICKR-25k's 19,664 training images (24 labels) (Zhang & Wu, AAAI-24, Tables 6 and 8 "No"): the COCO recipe of
# ./mulsupcon_resnet50_8xb8-coslr-400e_coco2014.py (ResNet-50 from scratch, 224 px, two views, SGD
# lr 0.1 cosine, 400 epochs, tau 0.1, queue 2048), global batch 64 = 8 GPUs x 8.
# Run: tools/dist_train.sh <this config> 8
_base_ = [
    './_base_/models/mulsupcon_resnet50.py',
    '../_base_/datasets/mirflickr25k_mulsupcon.py',
    '../_base_/schedules/sgd_coslr_400e.py',
    '../_base_/default_runtime.py',
]

model = dict(num_classes=24)
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
