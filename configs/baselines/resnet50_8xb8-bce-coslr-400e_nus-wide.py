# BCE-from-scratch baseline of the MulSupCon paper on NUS-WIDE (Table 6, "BCE" row; the source model of the
# Table 7(b) BCE rows): the same
# ResNet-50, augmentation and schedule as the pretraining (../mulsupcon/mulsupcon_resnet50_8xb8-coslr-400e_nus-wide.py; SGD 0.1 cosine, 400 epochs,
# batch 64), trained directly with binary cross-entropy on the 81 labels; the checkpoint of
# lowest BCE on the validation carve-out of the training data is the one to test.
_base_ = [
    './_base_/models/resnet50_bce.py',
    '../_base_/datasets/nus_wide_valsplit.py',
    '../_base_/schedules/sgd_coslr_400e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=81))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=400, val_interval=10)
val_cfg = dict()
test_cfg = dict()
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
# the checkpoint of lowest BCE on the validation carve-out of train (the data-set base) is the
# one to test; the test split is never used for the choice
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3,
                    save_best='multi-label/bce', rule='less'))
