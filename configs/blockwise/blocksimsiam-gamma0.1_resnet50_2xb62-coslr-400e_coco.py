# Block-wise ablation (arXiv 2506.23156, overlap gamma): the COCO recipe of
# ./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py with gamma 0.1 (each block 60 % of each side).
_base_ = ['./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py']

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='BlockWiseAug', gamma=0.1, grid=2,
         transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
    dict(type='PackInputs', algorithm_keys=['block_idx', 'pipeline_idx']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
