# mediamill (Mulan multi-label vector set; MulSupCon paper Tables 2-3): 120 features, 101 labels.
# Mulan's split: 30,993 train / 12,914 test rows, dense numeric features.
# Put (or link) the folder at data/mulan_mediamill (docs/datasets/mulan.md: where to obtain the
# files, the folder tree). The labels are the ones the Mulan XML file names; 20 % of the training file
# (numpy.random.default_rng(0)) is carved out for model selection and the standardisation
# statistics come from the other rows, for every split.
_base_ = './mulan_vectors.py'
num_features = 120
num_classes = 101
mulan = dict(
    type='MulanDataset',
    data_root='data/mulan_mediamill/',
    split_files=dict(train='mediamill-train.arff', test='mediamill-test.arff'),
    label_xml='mediamill.xml',
    val_fraction=0.2,
    val_seed=0,
    num_features=num_features,
    num_labels=num_classes,
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(dataset=dict(mulan, split='train'))
val_dataloader = dict(dataset=dict(mulan, split='val', test_mode=True))
test_dataloader = dict(dataset=dict(mulan, split='test', test_mode=True))
