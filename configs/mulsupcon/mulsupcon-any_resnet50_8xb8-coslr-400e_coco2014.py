# Ablation "ANY" (paper Table 5, COCO 2014): a key is a positive if it shares at least one label
# with the anchor. Everything else as the MulSupCon config.
_base_ = ['./mulsupcon_resnet50_8xb8-coslr-400e_coco2014.py']
model = dict(head=dict(positives='any'))
