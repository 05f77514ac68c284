# PASCAL VOC 2007 at 224 px with the MulSupCon downstream protocol's splits (the paper's 5,011
# trainval / 4,952 test, Table 1): a seeded 10 % of trainval is carved out for checkpoint
# selection with mmpretrain's stock KFoldDataset (fold 0 of 10, seed 0: the first
# floor(N / 10) positions of a numpy.random.default_rng(0) shuffle are validation, the other
# 90 % train; mmpretrain's VOC class has no carve-out option of its own), and the test split is
# evaluated only at the selected checkpoint. Pipelines as ./voc07_multilabel_224.py (the plain
# trainval / test base of the block-wise evaluation); evaluators add the BCE that selects the
# checkpoint and, on the test split, the oracle sweep (oracle_* keys).
_base_ = ['./voc07_multilabel_224.py']

voc_trainval = dict(type='VOC', data_root='data/VOCdevkit/VOC2007/', split='trainval')
carve_out = dict(type='KFoldDataset', num_splits=10, fold=0, seed=0)

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        **carve_out,
        test_mode=False,
        dataset=dict(**voc_trainval, pipeline={{_base_.train_pipeline}})))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        **carve_out,
        test_mode=True,
        dataset=dict(**voc_trainval, test_mode=True, pipeline={{_base_.test_pipeline}})))

val_evaluator = [
    dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True, bce=True),
    dict(type='VOCAveragePrecision', prefix='voc'),
]
test_evaluator = [
    dict(type='MultiLabelPaperMetric', thr=0.5, mlgcn=True, bce=True, oracle=True),
    dict(type='VOCAveragePrecision', prefix='voc'),
]
