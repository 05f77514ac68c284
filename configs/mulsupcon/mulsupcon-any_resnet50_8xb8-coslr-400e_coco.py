# Ablation "ANY": a key is a positive if it shares at least one label with the anchor.
_base_ = ['./mulsupcon_resnet50_8xb8-coslr-400e_coco.py']
model = dict(head=dict(positives='any'))
