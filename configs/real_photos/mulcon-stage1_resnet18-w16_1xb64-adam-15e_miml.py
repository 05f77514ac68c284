# MulCon (arXiv 2107.11626) stage 1 on MIML scene, from scratch: label-wise attention over the
# backbone's last feature map (128-d tokens, 4 heads, 2 token layers), one scorer per label,
# BCE averaged over the 5 labels; Adam 1e-3 cosine, 15 epochs, EMA of the weights (decay 0.99,
# the reference's 0.9997 is for 25 long epochs). Evaluated as a classifier (no probe).
_base_ = ['./bce_resnet18-w16_1xb64-adam-15e_miml.py']

model = dict(
    _delete_=True,
    type='MulConClassifier',
    data_preprocessor=dict(
        num_classes=5,
        mean={{_base_.mean}},
        std={{_base_.std}},
        to_rgb=True,
        to_onehot=True),
    backbone={{_base_.backbone}},  # last stage only (out_indices=(3, ))
    neck=dict(
        type='LabelWiseAttentionNeck', in_channels=128, num_classes=5, embed_dims=128,
        num_heads=4, num_token_layers=2, scale='full'),
    head=dict(
        type='LabelWiseLinearClsHead', num_classes=5, in_channels=128, thr=0.5,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0 / 5)))
custom_hooks = [
    dict(type='EMAHook', momentum=0.01, update_buffers=True, priority='ABOVE_NORMAL'),
    dict(type='MultiLabelClassCheckHook'),
    dict(type='NonFiniteLossHook'),
]
