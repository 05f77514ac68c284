# The short name users type: `tools/dist_train.sh configs/mulsupcon_r50_coco.py 8`.
# Identical to configs/mulsupcon/mulsupcon_resnet50_8xb8-coslr-400e_coco2014.py: MulSupCon on
# COCO 2014, the paper's split (the COCO 2017 variant is ..._coco2017.py in the same folder).
_base_ = ['./mulsupcon/mulsupcon_resnet50_8xb8-coslr-400e_coco2014.py']
