# Fine-tuning a pretrained backbone on PETA: the BCE-from-scratch recipe
# (../bce_resnet18-w16_1xb64-adam-15e_peta.py) started from the backbone of a pretraining
# checkpoint (any method of this folder):
#   python tools/train.py configs/real_photos/benchmarks/resnet18-w16_finetune-1xb64-adam-15e_peta.py \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretraining>/epoch_15.pth
# Label efficiency: add train_dataloader.dataset.label_fraction=0.1 (a seeded 10 % of the
# training labels; the pretraining saw all training images).
_base_ = ['../bce_resnet18-w16_1xb64-adam-15e_peta.py']

model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')))
