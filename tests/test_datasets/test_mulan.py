# Copyright (c) mlcl_plugin authors. All rights reserved.
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate

import mlcl_plugin  # noqa: F401  (registers the plugin modules)
from mlcl_plugin.datasets import (
    MulanDataset,
    load_arff,
    load_hdf5,
    load_mulan_xml,
    load_npz,
    val_split_indices,
)

ATTRS = """@attribute f1 numeric
@attribute f2 real
@attribute f3 integer
"""
LABELS = """@attribute l1 {0,1}
@attribute l2 {0,1}
@attribute l3 {0,1}
"""
X_REF = np.array([[0.5, 0.0, 3.0], [-1.25, 2.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]],
                 dtype=np.float32)
Y_REF = np.array([[1, 0, 1], [0, 0, 0], [0, 1, 0], [1, 1, 1]], dtype=np.uint8)


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _dense_rows(first_labels=False):
    rows = []
    for x, y in zip(X_REF, Y_REF):
        xs = [f'{v:g}' for v in x]
        ys = [str(v) for v in y]
        rows.append(','.join(ys + xs if first_labels else xs + ys))
    return '\n'.join(rows) + '\n'


def _dense_last(relation="'toy: -C -3'"):
    return f'@relation {relation}\n\n{ATTRS}{LABELS}\n@data\n{_dense_rows()}'


def _check(result):
    X, Y, feat, labels = result
    assert X.dtype == np.float32
    assert Y.dtype == np.uint8
    np.testing.assert_array_equal(X, X_REF)
    np.testing.assert_array_equal(Y, Y_REF)
    assert feat == ['f1', 'f2', 'f3']
    assert labels == ['l1', 'l2', 'l3']


# --------------------------------------------------------------------------------------------
# ARFF reader on small files


def test_arff_meka_last(tmp_path):
    _check(load_arff(_write(tmp_path, 'a.arff', _dense_last())))


def test_arff_meka_first_with_comments_and_case(tmp_path):
    text = ("% a comment\n@RELATION 'toy: -C 2'\n\n% another\n@ATTRIBUTE l1 {0,1}\n"
            '@Attribute l2 {0, 1}\n@attribute f1 NUMERIC\n\n@DATA\n% data comment\n'
            '1,0,0.5\n\n0,1,-2\n')
    X, Y, feat, labels = load_arff(_write(tmp_path, 'a.arff', text))
    np.testing.assert_array_equal(X, [[0.5], [-2.0]])
    np.testing.assert_array_equal(Y, [[1, 0], [0, 1]])
    assert feat == ['f1']
    assert labels == ['l1', 'l2']


def test_arff_explicit_count_and_location(tmp_path):
    path = _write(tmp_path, 'a.arff', _dense_last('toy'))
    _check(load_arff(path, num_labels=3, label_location='last'))
    _check(load_arff(path, num_labels=3))  # 'last' is the default
    text = f'@relation toy\n{LABELS}{ATTRS}@data\n{_dense_rows(first_labels=True)}'
    _check(load_arff(_write(tmp_path, 'b.arff', text), num_labels=3, label_location='first'))


def test_arff_sparse_equals_dense(tmp_path):
    rows = []
    for x, y in zip(X_REF, Y_REF):
        vals = list(x) + list(y)
        rows.append('{' + ', '.join(f'{i} {v:g}' for i, v in enumerate(vals) if v != 0) + '}')
    text = f"@relation 'toy: -C -3'\n{ATTRS}{LABELS}@data\n" + '\n'.join(rows) + '\n'
    sparse = load_arff(_write(tmp_path, 's.arff', text))
    dense = load_arff(_write(tmp_path, 'd.arff', _dense_last()))
    for a, b in zip(sparse, dense):
        np.testing.assert_array_equal(a, b)
    _check(sparse)
    # an empty sparse row is all zeros
    X, Y, _, _ = load_arff(_write(tmp_path, 'e.arff', text + '{}\n'))
    assert not X[-1].any()
    assert not Y[-1].any()


def test_arff_quoted_names(tmp_path):
    text = ('@relation "quoted: -C -2"\n@attribute \'feat one\' numeric\n'
            '@attribute "feat, two" real\n@attribute \'lab 1\' {0,1}\n'
            '@attribute "lab 2" {\'0\',\'1\'}\n'
            "@data\n1.5,2,'1',0\n0,-1,0,'1'\n")
    X, Y, feat, labels = load_arff(_write(tmp_path, 'q.arff', text))
    assert feat == ['feat one', 'feat, two']
    assert labels == ['lab 1', 'lab 2']
    np.testing.assert_array_equal(X, [[1.5, 2.0], [0.0, -1.0]])
    np.testing.assert_array_equal(Y, [[1, 0], [0, 1]])


def test_arff_xml_label_names(tmp_path):
    xml = _write(tmp_path, 'labels.xml',
                 '<?xml version="1.0" encoding="utf-8"?>\n'
                 '<labels xmlns="http://mulan.sourceforge.net/labels">\n'
                 '<label name="l3"></label><label name="l1"><label name="l2"/></label>\n'
                 '</labels>\n')
    names = load_mulan_xml(xml)
    assert names == ['l3', 'l1', 'l2']
    X, Y, feat, labels = load_arff(_write(tmp_path, 'a.arff', _dense_last('plain')),
                                   label_names=names)
    assert labels == names
    np.testing.assert_array_equal(Y, Y_REF[:, [2, 0, 1]])
    np.testing.assert_array_equal(X, X_REF)
    # two labels only: the third label attribute becomes a feature
    X, Y, feat, labels = load_arff(_write(tmp_path, 'b.arff', _dense_last('plain')),
                                   label_names=['l2', 'l1'])
    assert feat == ['f1', 'f2', 'f3', 'l3']
    assert labels == ['l2', 'l1']
    np.testing.assert_array_equal(X[:, 3], Y_REF[:, 2])


@pytest.mark.parametrize(
    ('text', 'kwargs', 'match'),
    [
        (_dense_last() + '1,2\n', {}, r'bad\.arff:\d+: malformed row: 2 values'),
        (_dense_last() + '{1 2, 9}\n', {}, r'bad\.arff:\d+: malformed sparse entry'),
        (_dense_last() + '{99 1}\n', {}, r'bad\.arff:\d+: sparse index 99 out of range'),
        (_dense_last() + '{1 2\n', {}, r'bad\.arff:\d+: malformed sparse row'),
        (_dense_last() + '1,2,x,0,0,0\n', {}, r'bad\.arff:\d+: non-numeric value'),
        (_dense_last() + '1,2,3,0,2,0\n', {}, r"bad\.arff:\d+: invalid label value '2'"),
        (_dense_last('plain'), {}, r'bad\.arff: cannot determine the label columns'),
        (_dense_last(), {'num_labels': 2}, r'bad\.arff: label count mismatch'),
        (_dense_last('plain'), {'num_labels': 6}, r'bad\.arff: label count mismatch'),
        (_dense_last(), {'label_location': 'first'}, 'contradicts the MEKA header'),
        (_dense_last('plain'), {'label_names': ['l1', 'nope']},
         r"unknown label names \['nope'\]"),
        (_dense_last('plain'), {'label_names': ['l1'], 'num_labels': 2},
         'label count mismatch'),
        (_dense_last('plain').replace('l3 {0,1}', 'l3 {0,1,2}'), {'label_names': ['l3']},
         r'bad\.arff:\d+: label attribute .* must be nominal'),
        (_dense_last().replace('@data\n', ''), {}, r'unexpected line in header'),
        (_dense_last().replace('f3 integer', 'f3 string'), {}, r'unsupported type'),
    ])
def test_arff_errors(tmp_path, text, kwargs, match):
    path = _write(tmp_path, 'bad.arff', text)
    with pytest.raises(ValueError, match=match):
        load_arff(path, **kwargs)


def test_arff_numeric_label_not_binary(tmp_path):
    text = _dense_last().replace('@attribute l3 {0,1}', '@attribute l3 numeric')
    text += '1,2,3,0,0,0.5\n'
    with pytest.raises(ValueError, match=r'bad\.arff:\d+: label value .* is not 0/1'):
        load_arff(_write(tmp_path, 'bad.arff', text))


def test_mulan_xml_errors(tmp_path):
    with pytest.raises(ValueError, match='no <label'):
        load_mulan_xml(_write(tmp_path, 'x.xml', '<labels></labels>'))
    with pytest.raises(ValueError, match='not a valid XML'):
        load_mulan_xml(_write(tmp_path, 'y.xml', '<labels>'))


def test_npz_errors(tmp_path):
    path = str(tmp_path / 'a.npz')
    np.savez(path, X=np.zeros((3, 2)), Y=np.array([[0], [2], [1]]))
    with pytest.raises(ValueError, match='must be 0/1'):
        load_npz(path)
    np.savez(path, X=np.zeros((3, 2)))
    with pytest.raises(ValueError, match='missing arrays'):
        load_npz(path)


# --------------------------------------------------------------------------------------------
# Dataset on small files


def test_dataset_small(tmp_path):
    path = _write(tmp_path, 'a.arff', _dense_last())
    ds = MulanDataset(osp.basename(path), data_root=str(tmp_path), standardize=False)
    assert len(ds) == 4
    assert ds.CLASSES == ('l1', 'l2', 'l3')
    info = ds.get_data_info(1)
    assert info['gt_label'] == []
    assert info['sample_idx'] == 1
    np.testing.assert_array_equal(info['img'], X_REF[1])
    assert ds.get_data_info(3)['gt_label'] == [0, 1, 2]
    assert 'Format: \tarff' in repr(ds)
    assert 'Standardisation: \tnone' in repr(ds)
    with pytest.raises(ValueError, match="split='val' needs val_fraction"):
        MulanDataset(path, split='val')
    with pytest.raises(ValueError, match='cannot infer the format'):
        MulanDataset(str(tmp_path / 'a.txt'))


def test_dataset_zero_std_and_xml(tmp_path):
    path = _write(tmp_path, 'a.arff', _dense_last('plain'))
    xml = _write(tmp_path, 'l.xml', '<labels><label name="l2"/><label name="l3"/></labels>')
    ds = MulanDataset(path, label_xml=xml)
    assert ds.CLASSES == ('l2', 'l3')
    assert ds.num_features == 4
    X = np.stack([ds.get_data_info(i)['img'] for i in range(len(ds))])
    np.testing.assert_allclose(X.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(X.std(0), 1, atol=1e-5)
    const = _write(tmp_path, 'c.arff', "@relation 'c: -C -1'\n@attribute f numeric\n"
                   '@attribute l {0,1}\n@data\n2,0\n2,1\n')
    ds = MulanDataset(const)
    assert ds.scaler_std.tolist() == [1.0]
    assert ds.get_data_info(0)['img'].tolist() == [0.0]


# --------------------------------------------------------------------------------------------
# Real data


@pytest.mark.parametrize(('split', 'num'), [('train', 1200), ('val', 300), ('test', 917)])
def test_real_yeast_mulsupcon(shared_data, split, num):
    stem = osp.join(shared_data, 'yeast_mulsupcon', f'yeast_official_{split}')
    X, Y, _, _ = load_npz(stem + '.npz')
    assert X.shape == (num, 103)
    assert Y.shape == (num, 14)
    X2, Y2, _, _ = load_hdf5(stem + '.hdf5')
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(Y, Y2)


def test_real_mulan_arff(shared_data):
    X, Y, feat, labels = load_arff(osp.join(shared_data, 'mulan_yeast', 'yeast-train.arff'))
    assert X.shape == (1500, 103)
    assert Y.shape == (1500, 14)
    assert len(feat) == 103
    Xn, Yn, _, labels_n = load_npz(osp.join(shared_data, 'mulan_yeast', 'yeast_train.npz'))
    np.testing.assert_array_equal(X, Xn)
    np.testing.assert_array_equal(Y, Yn)
    assert labels == labels_n
    X, Y, _, labels = load_arff(osp.join(shared_data, 'mulan_scene', 'scene-train.arff'))
    assert X.shape == (1211, 294)
    assert Y.shape == (1211, 6)
    assert labels == ['Beach', 'Sunset', 'FallFoliage', 'Field', 'Mountain', 'Urban']


def test_real_standardisation_from_train(shared_data):
    root = osp.join(shared_data, 'yeast_mulsupcon')
    train = MulanDataset('yeast_official_train.npz', data_root=root)
    test = MulanDataset('yeast_official_test.npz', data_root=root,
                        scaler_file='yeast_official_train.npz')
    X_train = np.load(osp.join(root, 'yeast_official_train.npz'))['X'].astype(np.float32)
    for ds in (train, test):
        np.testing.assert_allclose(ds.scaler_mean, X_train.astype(np.float64).mean(0))
        np.testing.assert_allclose(ds.scaler_std, X_train.astype(np.float64).std(0))
    X_test_raw = load_npz(osp.join(root, 'yeast_official_test.npz'))[0]
    assert not np.allclose(test.scaler_mean, X_test_raw.mean(0), atol=1e-4)
    Xs = np.stack([train.get_data_info(i)['img'] for i in range(len(train))])
    np.testing.assert_allclose(Xs.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(Xs.std(0), 1, atol=1e-4)
    Xt = np.stack([test.get_data_info(i)['img'] for i in range(len(test))])
    np.testing.assert_allclose(Xt, (X_test_raw - train.scaler_mean) / train.scaler_std,
                               rtol=1e-5, atol=1e-5)
    assert 'fitted on' in repr(test)
    assert 'yeast_official_train.npz' in repr(test)


def test_real_val_carve_out(shared_data):
    path = osp.join(shared_data, 'mulan_scene', 'scene_train.npz')
    kw = dict(val_fraction=0.2, val_seed=3)
    tr = MulanDataset(path, split='train', **kw)
    va = MulanDataset(path, split='val', **kw)
    assert len(va) == 242
    assert len(tr) == 1211 - 242
    rows_tr = [tr.get_data_info(i)['row_idx'] for i in range(len(tr))]
    rows_va = [va.get_data_info(i)['row_idx'] for i in range(len(va))]
    assert not set(rows_tr) & set(rows_va)
    assert sorted(rows_tr + rows_va) == list(range(1211))
    assert rows_va == val_split_indices(1211, 0.2, 3)[1].tolist()  # reproducible
    assert rows_va != val_split_indices(1211, 0.2, 4)[1].tolist()
    # the scaler is fitted on the training rows in both splits
    X = load_npz(path)[0].astype(np.float64)
    for ds in (tr, va):
        np.testing.assert_allclose(ds.scaler_mean, X[rows_tr].mean(0))
    assert 'val_seed=3' in repr(va)
    assert '242 val rows of 1211' in repr(va)
    # test set standardised with the same training rows
    te = MulanDataset(osp.join(shared_data, 'mulan_scene', 'scene_test.npz'), scaler_file=path,
                      scaler_val_fraction=0.2, val_seed=3)
    np.testing.assert_allclose(te.scaler_mean, tr.scaler_mean)
    np.testing.assert_allclose(te.scaler_std, tr.scaler_std)


def test_real_stock_pipeline_and_registry(shared_data):
    from mmpretrain.registry import DATASETS

    ds = DATASETS.build(
        dict(type='MulanDataset', data_root=osp.join(shared_data, 'mulan_yeast'),
             ann_file='yeast-test.arff', scaler_file='yeast-train.arff',
             pipeline=[dict(type='PackInputs')], test_mode=True))
    assert isinstance(ds, MulanDataset)
    assert len(ds) == 917
    assert len(ds.CLASSES) == 14
    batch = default_collate([ds[i] for i in range(4)])
    assert batch['inputs'].shape == (4, 103)
    assert batch['inputs'].dtype == torch.float32
    sample = batch['data_samples'][0]
    assert sample.gt_label.tolist() == ds.get_data_info(0)['gt_label']
    assert len(sample.gt_label) > 0
