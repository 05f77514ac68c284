# COCO 2014 train for MulSupCon pretraining, the MulSupCon paper's split (Table 1: 82,081 train
# images = the 82,783 of instances_train2014.json less the 702 without any annotation, which
# COCOMultiLabel drops by default). Views and normalisation as ./coco2017_mulsupcon.py.
# Layout: data/coco/annotations/instances_train2014.json, data/coco/train2014/COCO_train2014_*.jpg
_base_ = ['./coco2017_mulsupcon.py']

train_dataloader = dict(
    dataset=dict(ann_file='annotations/instances_train2014.json', data_prefix='train2014/'))
