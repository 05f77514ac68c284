# The coco128 comparison with Lightly's NTXentLoss and its memory bank of 128 keys (MoCo-style
# InfoNCE: the query's own key is the positive, the bank holds the negatives) swapped into
# MultiLabelMoCo: same backbone, views, queue length, temperature and schedule as
# ./mlmoco-mulsupcon_resnet18-w16_1xb16-adam-20e_coco128.py; only the head differs.
_base_ = ['./mlmoco-mulsupcon_resnet18-w16_1xb16-adam-20e_coco128.py']

model = dict(
    head=dict(
        _delete_=True,
        type='LightlyLossHead',
        loss=dict(type='NTXentLoss', temperature=0.1, memory_bank_size=(128, 128))))
