# Lightly's NTXentLoss with a memory bank of 4,096 keys (MoCo-style InfoNCE, temperature 0.2)
# swapped into MultiLabelMoCo through LightlyLossHead on MIML scene: the same backbone, views,
# schedule and key encoder as ./mulsupcon_resnet18-w16_1xb64-adam-15e_miml.py, only the head
# differs (and it ignores the labels).
_base_ = ['./mulsupcon_resnet18-w16_1xb64-adam-15e_miml.py']

model = dict(
    head=dict(
        _delete_=True,
        type='LightlyLossHead',
        loss=dict(type='NTXentLoss', temperature=0.2, memory_bank_size=(4096, 128))))
