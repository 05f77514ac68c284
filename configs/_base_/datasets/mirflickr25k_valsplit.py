# MIRFLICKR-25k at 224 px with the MulSupCon downstream protocol's splits (Table 6, Table 7
# transfer, Table 8): the paper's 19,664 / 4,917 seeded train / test split of ./mirflickr25k.py,
# and a seeded 10 % of the training part carved out for checkpoint selection
# (MIRFlickr25k(subset='train' | 'val', val_fraction=0.1, val_seed=0); the other 90 % train).
# The test part is evaluated only at the selected checkpoint. Pipelines as ./mirflickr25k.py;
# validation reports the BCE that selects the checkpoint, the test evaluator adds the papers'
# oracle sweep under its own oracle_* keys.
_base_ = ['./mirflickr25k.py']

val_fraction = 0.1
val_seed = 0

train_dataloader = dict(
    dataset=dict(subset='train', val_fraction=val_fraction, val_seed=val_seed))
val_dataloader = dict(
    dataset=dict(split='train', subset='val', val_fraction=val_fraction, val_seed=val_seed))
# the seeded test part (test_dataloader of ./mirflickr25k.py), untouched by the carve-out

val_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True, bce=True)
test_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True, bce=True, oracle=True)
