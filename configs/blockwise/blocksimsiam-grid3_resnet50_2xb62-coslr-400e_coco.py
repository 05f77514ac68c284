# Block-wise ablation (arXiv 2506.23156, number of blocks): the COCO recipe of
# ./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py with a 3 x 3 grid (9 blocks, 18 views per
# image); the learning rate follows the reference's rule 0.05 x images x blocks / 256, which
# counts the 4 blocks of the default as its x 4.
_base_ = ['./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py']

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='BlockWiseAug', gamma=0.3, grid=3,
         transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
    dict(type='PackInputs', algorithm_keys=['block_idx', 'pipeline_idx']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=0.05 * 124 * 9 / 256))
