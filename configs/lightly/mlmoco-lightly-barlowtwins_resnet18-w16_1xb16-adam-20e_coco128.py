# The coco128 comparison with Lightly's BarlowTwinsLoss swapped into MultiLabelMoCo; everything
# else as ./mlmoco-mulsupcon_resnet18-w16_1xb16-adam-20e_coco128.py. Inside MultiLabelMoCo the
# second view comes from the momentum encoder without gradient, so the redundancy-reduction
# objective is one-sided (a BYOL-like target); ./simclr-style_barlowtwins-lightly-* shows the
# symmetric form in mmpretrain's stock BarlowTwins algorithm.
_base_ = ['./mlmoco-mulsupcon_resnet18-w16_1xb16-adam-20e_coco128.py']

model = dict(
    head=dict(_delete_=True, type='LightlyLossHead',
              loss=dict(type='BarlowTwinsLoss', lambda_param=5e-3)))
