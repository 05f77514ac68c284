# Block-wise ablation (arXiv 2506.23156, loss variants): the COCO recipe of
# ./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py with the SimSiam term only (no image-aware
# contrast): block-wise views without IA-CLoss.
_base_ = ['./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py']

model = dict(ia_head=None)
