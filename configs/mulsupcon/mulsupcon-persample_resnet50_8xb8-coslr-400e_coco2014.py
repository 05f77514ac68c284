# Ablation "1/|y_i|" (paper Eq. 6, Table 8, COCO 2014): every anchor weighs the same, its labels
# share the weight (Table 8's "Yes" row; the MulSupCon config is its "No" row).
_base_ = ['./mulsupcon_resnet50_8xb8-coslr-400e_coco2014.py']
model = dict(head=dict(weighting='per_sample'))
