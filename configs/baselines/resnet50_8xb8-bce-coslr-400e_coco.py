# BCE-from-scratch baseline for MulSupCon: the same ResNet-50, augmentation and schedule as the
# pretraining config, trained directly with binary cross-entropy on the 80 COCO labels.
_base_ = [
    '../_base_/datasets/coco_multilabel_224.py',
    '../_base_/schedules/sgd_coslr_400e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet', depth=50, norm_cfg=dict(type='SyncBN'), zero_init_residual=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=80,
        in_channels=2048,
        # BCE averaged over the 80 classes as in the MulSupCon code (nn.BCEWithLogitsLoss); the
        # plain CrossEntropyLoss(use_sigmoid=True) summed them: 80x the schedule's SGD lr
        loss=dict(type='ClassMeanBCELoss')))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=400, val_interval=10)
val_cfg = dict()
test_cfg = dict()
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3,
                    save_best='multi-label/mAP', rule='greater'))
