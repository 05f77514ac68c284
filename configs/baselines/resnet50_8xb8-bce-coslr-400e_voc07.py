# BCE-from-scratch baseline of the MulSupCon paper on PASCAL VOC 2007 (Table 6, "BCE" row): the same
# ResNet-50, augmentation and schedule as the pretraining (../mulsupcon/mulsupcon_resnet50_8xb8-coslr-400e_voc07.py; SGD 0.1 cosine, 400 epochs,
# batch 64), trained directly with binary cross-entropy on the 20 labels; the checkpoint of
# lowest BCE on the validation carve-out of the training data is the one to test.
_base_ = [
    './_base_/models/resnet50_bce.py',
    '../_base_/datasets/voc07_multilabel_224_valsplit.py',
    '../_base_/schedules/sgd_coslr_400e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=20))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=400, val_interval=10)
val_cfg = dict()
test_cfg = dict()
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
# the checkpoint of lowest BCE on the validation carve-out of train (the data-set base) is the
# one to test; the test split is never used for the choice
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3,
                    save_best='multi-label/bce', rule='less'))

# the pretraining's augmentation (crop + flip + colour jitter + grayscale), not the plain
# crop + flip of the VOC base: the paper trains BCE with the pretraining's settings
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0), backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
        ],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
