# Fine-tuning of a MulSupCon-pretrained MLP on yeast (docs/algorithms/mulsupcon.md): all parameters trained, Adam
# 4e-4 with the backbone at 0.1x (4e-5); 30 "epochs" x 50 iterations at batch 32; test metrics at
# the checkpoint of lowest validation BCE. Pass the pretraining checkpoint:
#   python tools/train.py configs/mulsupcon_vector/benchmarks/mlp_1xb32-finetune-adam-1500it_yeast.py \
#     --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/<pretrain>/iter_150000.pth
#   python tools/test.py <this config> work_dirs/<this>/best_multi-label_bce_iter_*.pth
# Only `backbone.*` keys are loaded (prefix='backbone.').
_base_ = [
    '../../_base_/models/mlp_multilabel_linear.py',
    '../../_base_/datasets/yeast_mulsupcon_vectors.py',
    '../../_base_/schedules/adam_1500it_plateau.py',
    '../../_base_/default_runtime.py',
]
custom_imports = dict(imports=['mlcl_plugin'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        in_channels={{_base_.num_features}},
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    # the base's ClassMeanBCELoss is the reference's BCE-with-logits mean over B x C entries
    head=dict(num_classes={{_base_.num_classes}}))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))

# Early stop after 20 validations without a lower BCE; keep the checkpoint of lowest
# validation BCE, whose test metrics are the reported ones (docs/algorithms/mulsupcon.md).
custom_hooks = [
    dict(type='MultiLabelClassCheckHook'),
    dict(type='EarlyStoppingHook', monitor='multi-label/bce', rule='less', min_delta=0.0,
         patience=20),
    dict(type='NonFiniteLossHook'),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1500, max_keep_ckpts=1,
                    save_best='multi-label/bce', rule='less'))
log_processor = dict(by_epoch=False)
