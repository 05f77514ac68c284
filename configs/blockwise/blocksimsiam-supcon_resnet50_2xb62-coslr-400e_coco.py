# Block-wise ablation (arXiv 2506.23156, loss variants): the COCO recipe of
# ./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py with the image-aware term in SupCon's L_out form
# (mean log-probability over the positives, form='supcon'; the authors' code ships both forms
# and trains with 'log_sum').
_base_ = ['./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py']

model = dict(ia_head=dict(form='supcon'))
