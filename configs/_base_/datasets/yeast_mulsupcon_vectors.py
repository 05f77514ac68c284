# yeast with the MulSupCon authors' own split (1200 train / 300 val / 917 test, 103 features,
# 14 labels). Put (or link) the folder at data/yeast_mulsupcon, e.g.
#   ln -s /path/to/shared/data/yeast_mulsupcon data/yeast_mulsupcon
# The .npz files hold exactly the arrays of the authors' yeast_official_*.hdf5 files (the
# .hdf5 ones load too, with the `hdf5` extra). Features are standardised with the statistics
# of the training file for every split (StandardScaler fitted on train, as MulSupCon's code).
# docs/datasets/mulan.md describes the files and how a new data set is added.
_base_ = './mulan_vectors.py'
num_features = 103
num_classes = 14
mulan = dict(
    type='MulanDataset',
    data_root='data/yeast_mulsupcon/',
    split_files=dict(train='yeast_official_train.npz', val='yeast_official_val.npz',
                     test='yeast_official_test.npz'),
    num_features=num_features,
    num_labels=num_classes,
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(dataset=dict(mulan, split='train'))
val_dataloader = dict(dataset=dict(mulan, split='val', test_mode=True))
test_dataloader = dict(dataset=dict(mulan, split='test', test_mode=True))
