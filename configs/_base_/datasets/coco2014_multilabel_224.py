# COCO 2014 multi-label classification at 224 px, the MulSupCon paper's split (Table 1):
# train2014 (82,081 images with at least one label) and val2014 (40,137) as the test split.
# Augmentation and evaluation as ./coco2017_multilabel_224.py.
_base_ = ['./coco2017_multilabel_224.py']

train_dataloader = dict(
    dataset=dict(ann_file='annotations/instances_train2014.json', data_prefix='train2014/'))
val_dataloader = dict(
    dataset=dict(ann_file='annotations/instances_val2014.json', data_prefix='val2014/'))
test_dataloader = val_dataloader
