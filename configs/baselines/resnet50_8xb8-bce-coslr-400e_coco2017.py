# BCE-from-scratch baseline for MulSupCon on COCO 2017 (the paper's split is 2014:
# ./resnet50_8xb8-bce-coslr-400e_coco2014.py): the same ResNet-50, augmentation and schedule as
# the pretraining config, trained directly with binary cross-entropy on the 80 COCO labels.
_base_ = [
    './_base_/models/resnet50_bce.py',
    '../_base_/datasets/coco2017_multilabel_224.py',
    '../_base_/schedules/sgd_coslr_400e.py',
    '../_base_/default_runtime.py',
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=400, val_interval=10)
val_cfg = dict()
test_cfg = dict()
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
# the checkpoint of lowest BCE on the validation carve-out of train (the data-set base) is the
# one to test; the test split is never used for the choice
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3,
                    save_best='multi-label/bce', rule='less'))
