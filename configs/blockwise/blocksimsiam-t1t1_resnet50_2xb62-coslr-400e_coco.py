# Block-wise ablation (arXiv 2506.23156, augmentation pipelines): the COCO recipe of
# ./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py with the first pipeline T1 (blur p 0.5,
# solarise p 0.5) on both branches instead of the asymmetric T1 / T2 pair.
_base_ = ['./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py']

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='BlockWiseAug', gamma=0.3, grid=2,
         transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline1}}]),
    dict(type='PackInputs', algorithm_keys=['block_idx', 'pipeline_idx']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
