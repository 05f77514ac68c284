# ALL positives (docs/algorithms/mulsupcon.md: keys whose label set equals the anchor's), otherwise as
# MulSupCon.
_base_ = './mulsupcon_mlp_1xb64-adam-150k_yeast.py'

model = dict(head=dict(positives='all'))
