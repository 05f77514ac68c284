# Mixing the plugin into a stock mmpretrain config: mmpretrain's own MoCo v2 recipe (ResNet-50,
# its augmentation, SGD schedule and runtime, taken from the installed mmpretrain package) with
# MultiLabelMoCo + MulSupCon on COCO labels instead of MoCo on ImageNet.
_base_ = 'mmpretrain::mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py'
custom_imports = dict(imports=['mlcl_plugin'], allow_failed_imports=False)

model = dict(
    type='MultiLabelMoCo',
    num_classes=80,
    queue_len=4096,  # a multiple of the global batch 8 x 32
    feat_dim=128,
    neck=dict(_delete_=True, type='MulSupConNeck', in_channels=2048, out_channels=128),
    head=dict(_delete_=True, type='MulSupConHead', temperature=0.1))

train_dataloader = dict(
    # mmengine adds `_scope_` to dicts inherited across packages; the stock collate function
    # does not accept it
    collate_fn=dict(_delete_=True, type='default_collate'),
    dataset=dict(
        _delete_=True,
        type='COCOMultiLabel',
        data_root='data/coco/',
        ann_file='annotations/instances_train2017.json',
        data_prefix='train2017/',
        pipeline={{_base_.train_pipeline}}))
custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
