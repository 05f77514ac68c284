# The yeast loss comparison with Lightly's BarlowTwinsLoss swapped into MultiLabelMoCo (one-sided:
# the second view is the momentum encoder's, without gradient); everything else as
# ../mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_yeast.py.
_base_ = ['../mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_yeast.py']

model = dict(
    head=dict(_delete_=True, type='LightlyLossHead',
              loss=dict(type='BarlowTwinsLoss', lambda_param=5e-3)))
