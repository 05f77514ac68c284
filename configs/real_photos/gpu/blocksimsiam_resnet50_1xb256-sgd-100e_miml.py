# BlockSimSiam pretraining on MIML scene, the GPU recipe: the CPU config
#   ../blocksimsiam_resnet18-w16_1xb64-sgd-15e_miml.py
# at the papers' scale: ResNet-50 (full width, random init), 224 x 224 px, 256 images per step on
# one GPU (auto_scale_lr scales the lr on more), 100 epochs.
#   python tools/train.py configs/real_photos/gpu/blocksimsiam_resnet50_1xb256-sgd-100e_miml.py   (or tools/dist_train.sh ... N)
_base_ = ['../blocksimsiam_resnet18-w16_1xb64-sgd-15e_miml.py', '../../_base_/datasets/miml_scene_gpu_pipelines.py']

train_dataloader = dict(batch_size=256, num_workers=16, dataset=dict(pipeline={{_base_.gpu_block_pipeline}}))
model = dict(
    backbone=dict(depth=50, stem_channels=64, base_channels=64),
    neck=dict(in_channels=2048, hid_channels=2048, out_channels=2048),
    head=dict(predictor=dict(in_channels=2048, hid_channels=512, out_channels=2048)))
# the block-wise paper's rule 0.05 x images x 4 / 256
lr = 0.2
optim_wrapper = dict(optimizer=dict(lr=lr))
custom_hooks = [
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=lr),
    dict(type='NonFiniteLossHook'),
]
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, by_epoch=True, begin=0, end=100,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=100)
default_hooks = dict(checkpoint=dict(interval=10))
auto_scale_lr = dict(base_batch_size=256)
