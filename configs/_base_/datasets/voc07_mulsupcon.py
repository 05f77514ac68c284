# PASCAL VOC 2007 trainval (5,011 images, Table 1) for MulSupCon pretraining (Tables 6 and 8):
# two augmented views per image with its 20 labels (mmpretrain's VOC; objects marked difficult
# are not labels), views and normalisation as ./coco2017_mulsupcon.py.
_base_ = ['./coco2017_mulsupcon.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='VOC',
        data_root='data/VOCdevkit/VOC2007/',
        split='trainval',
        pipeline={{_base_.train_pipeline}}))
