# BCE from scratch on MIML scene, the GPU recipe: the CPU config
#   ../bce_resnet18-w16_1xb64-adam-15e_miml.py
# at the papers' scale: ResNet-50 (full width, random init), 224 x 224 px, 256 images per step on
# one GPU (auto_scale_lr scales the lr on more), 30 epochs.
#   python tools/train.py configs/real_photos/gpu/bce_resnet50_1xb256-adam-30e_miml.py   (or tools/dist_train.sh ... N)
_base_ = ['../bce_resnet18-w16_1xb64-adam-15e_miml.py', '../../_base_/datasets/miml_scene_gpu_pipelines.py']

train_dataloader = dict(batch_size=256, num_workers=16,
                        dataset=dict(pipeline={{_base_.gpu_train_pipeline}}))
val_dataloader = dict(batch_size=256, num_workers=16,
                      dataset=dict(pipeline={{_base_.gpu_test_pipeline}}))
test_dataloader = val_dataloader
model = dict(backbone=dict(depth=50, stem_channels=64, base_channels=64), head=dict(in_channels=2048))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=30, by_epoch=True, begin=0, end=30,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=30, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=10))
auto_scale_lr = dict(base_batch_size=256)
