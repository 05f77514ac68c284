# Objects365 (v2) training subset for MulSupCon pretraining (Table 6): the paper's 515,233
# images (Table 1) as the seeded subset of ./objects365_valsplit.py, two augmented views per
# image with its 365 labels; views and normalisation as ./coco2017_mulsupcon.py. The paper
# pretrains Objects365 at a global batch of 128 (the configs use 8 GPUs x 16).
_base_ = ['./coco2017_mulsupcon.py']

train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        _delete_=True,
        type='Objects365MultiLabel',
        data_root='data/Objects365/Obj365_v2/',
        ann_file='annotations/zhiyuan_objv2_train.json',
        data_prefix='train/',
        file_name_mode='patch',
        exclude_file_names=[
            'patch16/objects365_v2_00908726.jpg',
            'patch6/objects365_v1_00320532.jpg',
            'patch6/objects365_v1_00320534.jpg',
        ],
        subset_size=515233,
        subset_seed=0,
        pipeline={{_base_.train_pipeline}}))
