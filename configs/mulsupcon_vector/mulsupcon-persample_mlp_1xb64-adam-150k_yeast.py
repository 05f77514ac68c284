# MulSupCon with the 1/|y_i| weight of each anchor (paper Eq. 6, the Table 8 ablation "with
# weight"; docs/algorithms/mulsupcon.md: weighting='per_sample'), otherwise as MulSupCon (Eq. 5).
_base_ = './mulsupcon_mlp_1xb64-adam-150k_yeast.py'

model = dict(head=dict(weighting='per_sample'))
