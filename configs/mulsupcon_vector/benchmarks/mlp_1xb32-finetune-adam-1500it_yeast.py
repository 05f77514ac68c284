# Fine-tuning of a MulSupCon-pretrained MLP on yeast (docs/algorithms/mulsupcon.md): all parameters
# trained, Adam 4e-4 with the backbone at 0.1x (4e-5), batch 32, epochs until the validation BCE
# plateaus (../../_base_/schedules/adam_plateau_earlystop.py; "1500it" in the name is the
# reference's cap, which this recipe replaces by early stopping); test metrics at the checkpoint
# of lowest validation BCE. Pass the pretraining checkpoint:
#   python tools/train.py configs/mulsupcon_vector/benchmarks/mlp_1xb32-finetune-adam-1500it_yeast.py \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/iter_150000.pth
#   python tools/test.py <this config> work_dirs/<this>/best_multi-label_bce_epoch_*.pth
# Only `backbone.*` keys are loaded (prefix='backbone.').
_base_ = [
    '../../_base_/models/mlp_multilabel_linear.py',
    '../../_base_/datasets/yeast_mulsupcon_vectors.py',
    '../../_base_/schedules/adam_plateau_earlystop.py',
]

model = dict(
    backbone=dict(
        in_channels={{_base_.num_features}},
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    # the base's ClassMeanBCELoss is the reference's BCE-with-logits mean over B x C entries
    head=dict(num_classes={{_base_.num_classes}}))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
