# Block-wise SSL pretraining on PASCAL VOC 2012 trainval (arXiv 2506.23156 VOC script,
# docs/algorithms/blockwise.md): as the COCO config with gamma 0.2 (blocks are 70 % of each side), 128 images
# per step (2 GPUs x 64), lr 0.05 x 128 x 4 / 256 = 0.1, 100 epochs. (The reference VOC script
# predates its current model code; the model here is the COCO one.) mmpretrain's VOC dataset reads
# the VOC2012 tree like the VOC2007 one.
# Run: tools/dist_train.sh configs/blockwise/blocksimsiam_resnet50_2xb64-coslr-100e_voc.py 2
_base_ = [
    '../_base_/datasets/coco_blockwise_pretrain.py',
    './_base_/models/blocksimsiam_resnet50.py',
    '../_base_/default_runtime.py',
]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='BlockWiseAug', gamma=0.2, grid=2,
         transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
    dict(type='PackInputs', algorithm_keys=['block_idx', 'pipeline_idx']),
]
train_dataloader = dict(
    batch_size=64,
    dataset=dict(
        _delete_=True,
        type='VOC',
        data_root='data/VOCdevkit/VOC2012/',
        split='trainval',
        pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05 * 128 * 4 / 256, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, by_epoch=True, begin=0, end=100, eta_min=0.0)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)
auto_scale_lr = dict(base_batch_size=128)

randomness = dict(seed=3407, deterministic=False)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
