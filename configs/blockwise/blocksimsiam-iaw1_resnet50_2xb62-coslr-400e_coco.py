# Block-wise ablation (arXiv 2506.23156, loss variants): the COCO recipe of
# ./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py with the image-aware term weighted 1 instead of 4.
_base_ = ['./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py']

model = dict(ia_head=dict(loss_weight=1.0))
