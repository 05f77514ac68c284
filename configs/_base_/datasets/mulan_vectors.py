# What every Mulan / MEKA vector data set shares (yeast, scene, mediamill, bookmarks, delicious,
# nus-vec): loaders, pipelines and the MulSupCon evaluators. A data-set config starts from this
# one and names its files ONCE, in `mulan`, from which its three loaders differ by `split` only:
#
#   _base_ = './mulan_vectors.py'
#   num_features, num_classes = 120, 101          # checked against the files
#   mulan = dict(type='MulanDataset', data_root='data/mulan_mediamill/',
#                split_files=dict(train='mediamill-train.arff', test='mediamill-test.arff'),
#                label_xml='mediamill.xml', val_fraction=0.2, val_seed=0,
#                num_features=num_features, num_labels=num_classes)
#   train_dataloader = dict(dataset=dict(mulan, split='train'))
#   val_dataloader = dict(dataset=dict(mulan, split='val'))
#   test_dataloader = dict(dataset=dict(mulan, split='test'))
#
# Every split is standardised with the statistics of the training rows (MulanDataset
# `split_files`), so the val and test sets cannot be given other statistics by mistake.
# Downstream (fine-tune / linear probe / BCE baseline): no masking, batch 32, shuffled passes
# over the training rows (an epoch is one pass); the pretraining configs switch to batch 64 and
# an infinite sampler.
train_pipeline = [dict(type='PackInputs')]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'))
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
test_dataloader = val_dataloader
# Model selection on the validation BCE (docs/algorithms/mulsupcon.md); the test split reports the
# fixed 0.5 threshold AND the papers' per-metric oracle threshold sweep (labelled oracle_*).
val_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, bce=True)
test_evaluator = dict(type='MultiLabelPaperMetric', thr=0.5, oracle=True, bce=True)
