# The coco128 comparison with Lightly's DCLLoss (decoupled contrastive learning, in-batch
# negatives) swapped into MultiLabelMoCo; everything else as
# ./mlmoco-mulsupcon_resnet18-w16_1xb16-adam-20e_coco128.py.
_base_ = ['./mlmoco-mulsupcon_resnet18-w16_1xb16-adam-20e_coco128.py']

model = dict(
    head=dict(_delete_=True, type='LightlyLossHead', loss=dict(type='DCLLoss', temperature=0.1)))
