# scene, Mulan's official split (1211 train / 1196 test, 294 features, 6 labels), read from the
# Mulan ARFF files (MEKA header `-C -6`). Put (or link) the folder at data/mulan_scene.
# Mulan has no validation split: 20 % of the training file (242 rows, chosen by
# numpy.random.default_rng(0).permutation) is carved out for model selection, as the MulSupCon
# authors did for yeast; pretraining and training use the other 969 rows only, and the
# standardisation statistics come from those 969 rows for every split.
dataset_type = 'MulanDataset'
data_root = 'data/mulan_scene/'
num_features = 294
num_classes = 6
val_fraction = 0.2
val_seed = 0

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
        ann_file='scene-train.arff',
        split='train',
        val_fraction=val_fraction,
        val_seed=val_seed,
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
        ann_file='scene-train.arff',
        split='val',
        val_fraction=val_fraction,
        val_seed=val_seed,
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
        ann_file='scene-test.arff',
        scaler_file='scene-train.arff',
        scaler_val_fraction=val_fraction,
        val_seed=val_seed,
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, bce=True)
test_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, oracle=True, bce=True)
