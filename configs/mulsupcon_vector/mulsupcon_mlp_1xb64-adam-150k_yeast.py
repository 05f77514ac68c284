# MulSupCon pretraining on yeast vectors with the reference settings (docs/algorithms/mulsupcon.md): MLP
# backbone 103 -> 256 -> 512 -> 256 (ReLU, dropout 0.2),
# projection 256 -> 256 -> 256, queue of 256 keys and their labels, key-encoder momentum 0.999
# (mmengine convention: momentum=0.001), tau 0.1, two views masked independently with p = 0.5,
# Adam 4e-4 / wd 1e-5, batch 64, 150k iterations. Input size and class count come from the
# data-set config.
#   python tools/train.py configs/mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_yeast.py
# The backbone is then evaluated by configs/mulsupcon_vector/benchmarks/*_yeast.py.
_base_ = [
    '../_base_/datasets/yeast_mulsupcon_vectors.py',
    '../_base_/schedules/adam_150k_warmrestart.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='MultiLabelMoCo',
    num_classes={{_base_.num_classes}},
    queue_len=256,
    feat_dim=256,
    momentum=0.001,
    queue_mode='full',  # the reference uses the queue only once it is full
    # Two views of every vector, each with its own feature mask (p = 0.5), drawn per batch on
    # tensors; the same augmentation as MultiView(num_views=2, [[RandomFeatureMask(0.5)]]) in the
    # pipeline at a fraction of the data cost. Vectors are standardised by the dataset.
    data_preprocessor=dict(type='FeatureMaskDataPreprocessor', mask_prob=0.5, num_views=2),
    backbone=dict(type='MulSupConMLP', in_channels={{_base_.num_features}}, dropout=0.2),
    neck=dict(type='MulSupConNeck', in_channels=256, out_channels=256, dropout=0.1),
    head=dict(type='MulSupConHead', temperature=0.1, positives='mulsupcon'))

# batch 64 from an infinite shuffled sampler (the reference's "epochs" of 1000 steps)
train_dataloader = dict(batch_size=64, sampler=dict(type='InfiniteSampler', shuffle=True))
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

custom_hooks = [dict(type='MultiLabelClassCheckHook'), dict(type='NonFiniteLossHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1000),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10000, max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=1000)
