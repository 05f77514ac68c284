# yeast with the MulSupCon authors' own split (1200 train / 300 val / 917 test, 103 features,
# 14 labels). Put (or link) the folder at data/yeast_mulsupcon, e.g.
#   ln -s /path/to/shared/data/yeast_mulsupcon data/yeast_mulsupcon
# The .npz files hold exactly the arrays of the authors' yeast_official_*.hdf5 files (the
# .hdf5 ones load too, with the `hdf5` extra). Features are standardised with the statistics
# of the training file for every split (StandardScaler fitted on train, as MulSupCon's code).
dataset_type = 'MulanDataset'
data_root = 'data/yeast_mulsupcon/'
num_features = 103
num_classes = 14

# Downstream (fine-tune / linear probe / BCE baseline): no masking (p = 0), batch 32, an
# infinite shuffled sampler as the reference ("epochs" of 50 steps).
train_pipeline = [dict(type='PackInputs')]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='yeast_official_train.npz',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='yeast_official_val.npz',
        scaler_file='yeast_official_train.npz',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='yeast_official_test.npz',
        scaler_file='yeast_official_train.npz',
        test_mode=True,
        pipeline=test_pipeline))
# Model selection on the validation BCE (docs/algorithms/mulsupcon.md); the test split reports the fixed 0.5
# threshold AND the papers' per-metric oracle threshold sweep (labelled oracle_*).
val_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, bce=True)
test_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, oracle=True, bce=True)
