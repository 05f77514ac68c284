# The yeast loss comparison with Lightly's DCLLoss (in-batch negatives) swapped into
# MultiLabelMoCo; everything else as ../mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_yeast.py.
_base_ = ['../mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_yeast.py']

model = dict(
    head=dict(_delete_=True, type='LightlyLossHead', loss=dict(type='DCLLoss', temperature=0.1)))
