# MulSupCon pretraining on the paper's 515,233-image Objects365 subset (365 classes) (Zhang & Wu, AAAI-24, Table 6): the COCO recipe of
# ./mulsupcon_resnet50_8xb8-coslr-400e_coco2014.py (ResNet-50 from scratch, 224 px, two views, SGD
# lr 0.1 cosine, 400 epochs, tau 0.1, queue 2048), at the global batch of 128 the paper gives for Objects365 (8 GPUs x 16; lr 0.1 as for
# the other sets).
# Run: tools/dist_train.sh <this config> 8
_base_ = [
    './_base_/models/mulsupcon_resnet50.py',
    '../_base_/datasets/objects365_mulsupcon.py',
    '../_base_/schedules/sgd_coslr_400e.py',
    '../_base_/default_runtime.py',
]

model = dict(num_classes=365)
auto_scale_lr = dict(base_batch_size=128)
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
