# BCE from scratch on yeast: the reference's `train` without a pretrained model
# (docs/algorithms/mulsupcon.md), i.e. the fine-tuning recipe (backbone lr x 0.1 included, as the
# reference code does) on a randomly initialised MLP.
_base_ = '../mulsupcon_vector/benchmarks/mlp_1xb32-finetune-adam-1500it_yeast.py'

model = dict(backbone=dict(init_cfg=None))
