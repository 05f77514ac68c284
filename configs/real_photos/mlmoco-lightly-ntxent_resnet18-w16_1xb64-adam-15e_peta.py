# Lightly's NTXentLoss with a memory bank of 4,096 keys (MoCo-style InfoNCE, temperature 0.2)
# swapped into MultiLabelMoCo through LightlyLossHead on PETA: the same backbone, views,
# schedule and key encoder as ./mulsupcon_resnet18-w16_1xb64-adam-15e_peta.py, only the head
# differs (and it ignores the labels), and the views: the MoCo v2 views of stock MoCo v2, which
# an unsupervised loss needs (MulSupCon on PETA uses the lighter supervised crops).
_base_ = ['./mulsupcon_resnet18-w16_1xb64-adam-15e_peta.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.two_view_pipeline}}))

model = dict(
    head=dict(
        _delete_=True,
        type='LightlyLossHead',
        loss=dict(type='NTXentLoss', temperature=0.2, memory_bank_size=(4096, 128))))
