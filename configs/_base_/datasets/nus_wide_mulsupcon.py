# NUS-WIDE official training list for MulSupCon pretraining (Table 6 / 7(b)): two augmented views
# per image with its 81-concept labels, views and normalisation as ./coco2017_mulsupcon.py;
# files and the empty-image drop as ./nus_wide.py.
_base_ = ['./coco2017_mulsupcon.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='NUSWIDE',
        data_root='data/nus-wide/',
        split='train',
        label_source='train_test',
        data_prefix='Flickr',
        pipeline={{_base_.train_pipeline}}))
