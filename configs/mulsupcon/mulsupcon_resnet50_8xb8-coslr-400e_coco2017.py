# MulSupCon pretraining on COCO 2017 train (118,287 images; the paper uses COCO 2014, see
# ./mulsupcon_resnet50_8xb8-coslr-400e_coco2014.py): ResNet-50 from scratch, 224 px, two views
# (crop + colour jitter + grayscale), SGD lr 0.1 cosine, 400 epochs, tau 0.1, global batch
# 64 = 8 GPUs x 8 with SyncBN. Run: tools/dist_train.sh <this config> 8
_base_ = [
    './_base_/models/mulsupcon_resnet50.py',
    '../_base_/datasets/coco2017_mulsupcon.py',
    '../_base_/schedules/sgd_coslr_400e.py',
    '../_base_/default_runtime.py',
]

custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
