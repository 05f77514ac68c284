# scene, Mulan's official split (1211 train / 1196 test, 294 features, 6 labels), read from the
# Mulan ARFF files (MEKA header `-C -6`). Put (or link) the folder at data/mulan_scene.
# Mulan has no validation split: 20 % of the training file (242 rows, chosen by
# numpy.random.default_rng(0).permutation) is carved out for model selection, as the MulSupCon
# authors did for yeast; pretraining and training use the other 969 rows only, and the
# standardisation statistics come from those 969 rows for every split.
# docs/datasets/mulan.md describes the files and how a new data set is added.
_base_ = './mulan_vectors.py'
num_features = 294
num_classes = 6
mulan = dict(
    type='MulanDataset',
    data_root='data/mulan_scene/',
    split_files=dict(train='scene-train.arff', test='scene-test.arff'),
    val_fraction=0.2,
    val_seed=0,
    num_features=num_features,
    num_labels=num_classes,
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(dataset=dict(mulan, split='train'))
val_dataloader = dict(dataset=dict(mulan, split='val', test_mode=True))
test_dataloader = dict(dataset=dict(mulan, split='test', test_mode=True))
