# Block-wise ablation (arXiv 2506.23156, loss variants): the COCO recipe of
# ./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py with SimSiam's stop-gradient on the target branch,
# which the authors' code leaves out.
_base_ = ['./blocksimsiam_resnet50_2xb62-coslr-400e_coco.py']

model = dict(stop_gradient=True)
