# Block-wise ablation (arXiv 2506.23156, number of blocks): the COCO recipe of
# ./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py with 2 blocks (a left and a right half, each
# extended by gamma; 4 views per image); lr by the reference's rule 0.05 x images x blocks / 256.
_base_ = ['./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py']

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='BlockWiseAug', gamma=0.3, grid=(2, 1),
         transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
    dict(type='PackInputs', algorithm_keys=['block_idx', 'pipeline_idx']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=0.05 * 124 * 2 / 256))
