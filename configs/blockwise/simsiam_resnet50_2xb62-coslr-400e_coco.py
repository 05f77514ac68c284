# The comparison baseline of arXiv 2506.23156 on COCO: stock mmpretrain SimSiam (two views of the
# whole image, T1 and T2, stop-gradient) with the block-wise COCO recipe's backbone, projector,
# predictor, batch (124 images), SGD schedule and 400 epochs, so the one change against
# ./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py is the block-wise views + image-aware loss.
# lr 0.05 x 124 / 256 (SimSiam's rule, 2 views per image instead of 8).
# Run: tools/dist_train.sh configs/blockwise/simsiam_resnet50_2xb62-coslr-400e_coco.py 2
_base_ = ['./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py']

model = dict(
    _delete_=True,
    type='SimSiam',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    head={{_base_.model.head}})

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=[1, 1],
         transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=0.05 * 124 / 256))
