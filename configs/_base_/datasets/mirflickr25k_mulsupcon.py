# MIRFLICKR-25k training part (the paper's 19,664 images, the seeded split of
# ./mirflickr25k.py) for MulSupCon pretraining (Tables 6 and 8): two augmented views per image
# with its 24 labels, views and normalisation as ./coco2017_mulsupcon.py.
_base_ = ['./coco2017_mulsupcon.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='MIRFlickr25k',
        data_root='data/mirflickr25k/',
        data_prefix='mirflickr',
        ann_dir='annotations',
        label_set='potential',
        split='train',
        split_seed=0,
        train_fraction=0.8,
        pipeline={{_base_.train_pipeline}}))
