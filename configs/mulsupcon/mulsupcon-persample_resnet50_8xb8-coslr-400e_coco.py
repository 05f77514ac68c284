# Ablation "1/|y_i|" (paper Eq. 6): every anchor weighs the same, its labels share the weight.
_base_ = ['./mulsupcon_resnet50_8xb8-coslr-400e_coco.py']
model = dict(head=dict(weighting='per_sample'))
