# Objects365 (v2) at 224 px with the MulSupCon paper's subset sizes and the downstream protocol's
# splits (Table 6): 515,233 training images and 80,000 test images (Table 1), each a seeded
# random subset (subset_seed 0) of the train / val json; a seeded 10 % of the training subset
# is carved out for checkpoint selection (COCOMultiLabel's subset='train' | 'val',
# val_fraction=0.1, val_seed=0; the carve-out runs after the subset), the other 90 % train; the
# 80,000 val-json images are the test split, evaluated only at the selected checkpoint. The
# paper names neither its subset nor its seed: these subsets have its sizes, not its images.
_base_ = ['./objects365.py']

val_fraction = 0.1
val_seed = 0
train_subset = dict(subset_size=515233, subset_seed=0)

train_dataloader = dict(
    dataset=dict(**train_subset, subset='train', val_fraction=val_fraction,
                 val_seed=val_seed))
val_dataloader = dict(
    dataset=dict(
        ann_file='annotations/zhiyuan_objv2_train.json',
        data_prefix='train/',
        # the train json's images missing from the archives, as in training
        exclude_file_names={{_base_.train_dataloader.dataset.exclude_file_names}},
        **train_subset,
        subset='val',
        val_fraction=val_fraction,
        val_seed=val_seed))
test_dataloader = dict(dataset=dict(subset_size=80000, subset_seed=0))

val_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True, bce=True)
test_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True, bce=True, oracle=True)
