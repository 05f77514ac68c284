# The short name users type: `tools/dist_train.sh configs/mulsupcon_r50_coco.py 8`.
# Identical to configs/mulsupcon/mulsupcon_resnet50_8xb8-coslr-400e_coco.py (mmpretrain naming).
_base_ = ['./mulsupcon/mulsupcon_resnet50_8xb8-coslr-400e_coco.py']
