# nus-vec: NUS-WIDE as vectors (Mulan multi-label vector set; MulSupCon paper Tables 2-3),
# 128 features, 81 labels: Mulan's NUS-WIDE cVLAD+ vectors (the 128-d variant MPVAE / C-GMVAE
# use), 161,789 train / 107,859 test rows. Put (or link) the folder at data/mulan_nus_vec
# (docs/datasets/mulan.md: where to obtain the files, the folder tree). The labels are the ones the Mulan XML file names; 20 % of the training file
# (numpy.random.default_rng(0)) is carved out for model selection and the standardisation
# statistics come from the other rows, for every split.
_base_ = './mulan_vectors.py'
num_features = 128
num_classes = 81
mulan = dict(
    type='MulanDataset',
    data_root='data/mulan_nus_vec/',
    split_files=dict(train='nus-wide-full-cVLADplus-train.arff',
                     test='nus-wide-full-cVLADplus-test.arff'),
    label_xml='nus-wide-full-cVLADplus.xml',
    val_fraction=0.2,
    val_seed=0,
    num_features=num_features,
    num_labels=num_classes,
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(dataset=dict(mulan, split='train'))
val_dataloader = dict(dataset=dict(mulan, split='val', test_mode=True))
test_dataloader = dict(dataset=dict(mulan, split='test', test_mode=True))
