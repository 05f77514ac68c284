# PASCAL VOC 2007 (trainval / test) as vectors: each image's 2048-d embedding by an
# ImageNet-pretrained ResNet-50, the input of the MulSupCon paper's Table 4 (MulSupCon vs C-GMVAE
# on image embeddings). Make the files with tools/dataset_converters/extract_image_features.py from
# the image config configs/baselines/resnet50_8xb8-bce-coslr-400e_voc07.py (--out-dir
# data/voc07_resnet50; docs/datasets/mulan.md, "Image embeddings"). The paper used MPVAE's split of
# these images, which we do not have: train is the image config's whole training set, of which a
# seeded 10 % (numpy.random.default_rng(0)) is carved out for model selection as in the image
# configs, and test is its test set. Every split is standardised with the statistics of the
# training rows.
_base_ = './mulan_vectors.py'
num_features = 2048
num_classes = 20
mulan = dict(
    type='MulanDataset',
    data_root='data/voc07_resnet50/',
    split_files=dict(train='train.npz', test='test.npz'),
    val_fraction=0.1,
    val_seed=0,
    num_features=num_features,
    num_labels=num_classes,
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(dataset=dict(mulan, split='train'))
val_dataloader = dict(dataset=dict(mulan, split='val', test_mode=True))
test_dataloader = dict(dataset=dict(mulan, split='test', test_mode=True))
