# Ablation "ALL": a key is a positive only if its label set equals the anchor's exactly.
_base_ = ['./mulsupcon_resnet50_8xb8-coslr-400e_coco.py']
model = dict(head=dict(positives='all'))
