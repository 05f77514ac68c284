# ANY positives (docs/algorithms/mulsupcon.md: keys sharing at least one label), otherwise as
# MulSupCon.
_base_ = './mulsupcon_mlp_1xb64-adam-150k_scene.py'

model = dict(head=dict(positives='any'))
