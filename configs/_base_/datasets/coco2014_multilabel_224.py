# COCO 2014 multi-label classification at 224 px, the MulSupCon paper's split (Table 1:
# 82,081 train / 40,137 test images after the empty-image drop) with the downstream protocol of
# ./coco2017_multilabel_224.py: the checkpoint is selected on a seeded 10 % carved out of
# train2014 (the other 90 % train), val2014 is the test split, evaluated only at the selected
# checkpoint. Augmentation and evaluators as ./coco2017_multilabel_224.py.
_base_ = ['./coco2017_multilabel_224.py']

train_dataloader = dict(
    dataset=dict(ann_file='annotations/instances_train2014.json', data_prefix='train2014/'))
val_dataloader = dict(
    dataset=dict(ann_file='annotations/instances_train2014.json', data_prefix='train2014/'))
test_dataloader = dict(
    dataset=dict(ann_file='annotations/instances_val2014.json', data_prefix='val2014/'))
