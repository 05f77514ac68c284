# Stock MoCo v2 pretraining on PETA, the GPU recipe: the CPU config
#   ../mocov2_resnet18-w16_1xb64-adam-15e_peta.py
# at the papers' scale: ResNet-50 (full width, random init), 256 x 128 px, 256 images per step on
# one GPU (auto_scale_lr scales the lr on more), 100 epochs.
#   python tools/train.py configs/real_photos/gpu/mocov2_resnet50_1xb256-adam-100e_peta.py   (or tools/dist_train.sh ... N)
_base_ = ['../mocov2_resnet18-w16_1xb64-adam-15e_peta.py', '../../_base_/datasets/peta_gpu_pipelines.py']

train_dataloader = dict(batch_size=256, num_workers=16, dataset=dict(pipeline={{_base_.gpu_two_view_pipeline}}))
model = dict(queue_len=8192, backbone=dict(depth=50, stem_channels=64, base_channels=64),
             neck=dict(in_channels=2048, hid_channels=2048))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, by_epoch=True, begin=0, end=100,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=100)
default_hooks = dict(checkpoint=dict(interval=10))
auto_scale_lr = dict(base_batch_size=256)
