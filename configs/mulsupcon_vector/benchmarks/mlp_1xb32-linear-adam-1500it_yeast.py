# Linear probe of a MulSupCon-pretrained MLP on yeast (docs/algorithms/mulsupcon.md): backbone frozen
# and kept in eval mode (no dropout), Adam 4e-4 on the linear layer; otherwise as the
# fine-tuning config.
#   python tools/train.py configs/mulsupcon_vector/benchmarks/mlp_1xb32-linear-adam-1500it_yeast.py \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/iter_150000.pth
_base_ = './mlp_1xb32-finetune-adam-1500it_yeast.py'

model = dict(backbone=dict(frozen=True))
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=4e-4, weight_decay=0., foreach=True))
