# bookmarks (Mulan multi-label vector set; MulSupCon paper Tables 2-3): 2150 features, 208 labels.
# Mulan ships one file of 87,856 rows; the train / test files are a 67 / 33 random partition
# (docs/datasets/mulan.md). Sparse binary features. Put (or link) the folder at
# data/mulan_bookmarks (docs/datasets/mulan.md: where to obtain the files, the folder tree). The labels are the ones the Mulan XML file names; 20 % of the training file
# (numpy.random.default_rng(0)) is carved out for model selection and the standardisation
# statistics come from the other rows, for every split.
_base_ = './mulan_vectors.py'
num_features = 2150
num_classes = 208
mulan = dict(
    type='MulanDataset',
    data_root='data/mulan_bookmarks/',
    split_files=dict(train='bookmarks-train.arff', test='bookmarks-test.arff'),
    label_xml='bookmarks.xml',
    val_fraction=0.2,
    val_seed=0,
    num_features=num_features,
    num_labels=num_classes,
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(dataset=dict(mulan, split='train'))
val_dataloader = dict(dataset=dict(mulan, split='val', test_mode=True))
test_dataloader = dict(dataset=dict(mulan, split='test', test_mode=True))
