# The yeast loss comparison (tools/benchmarks/compare_lightly_losses.py --dataset yeast) with
# Lightly's NTXentLoss and its memory bank of 256 keys swapped into MultiLabelMoCo: backbone,
# feature masking views, queue length, temperature and schedule as the MulSupCon reference
# config ../mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_yeast.py; only the head differs.
_base_ = ['../mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_yeast.py']

model = dict(
    head=dict(
        _delete_=True,
        type='LightlyLossHead',
        loss=dict(type='NTXentLoss', temperature=0.1, memory_bank_size=(256, 256))))
