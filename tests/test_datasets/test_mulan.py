# Copyright (c) mlcl_plugin authors. All rights reserved.
import os
import os.path as osp
import re
from pathlib import Path

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


# --------------------------------------------------------------------------------------------
# Sparse Mulan files, chunked reading, parse-once cache


def _mulan_data(seed=0, n=40):
    """Features (10 numeric, 4 nominal {0,1} as in bag-of-words sets) and 7 labels, sparse."""
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, 10)), 3) * (rng.random((n, 10)) < 0.3)
    W = (rng.random((n, 4)) < 0.3).astype(np.float64)
    Y = (rng.random((n, 7)) < 0.25).astype(np.uint8)
    return np.hstack([X, W]).astype(np.float32), Y


def _mulan_header(relation):
    return (f'@relation {relation}\n'
            + ''.join(f'@attribute f{j} numeric\n' for j in range(10))
            + ''.join(f'@attribute w{j} {{0,1}}\n' for j in range(4))
            + ''.join(f'@attribute lab{j} {{0,1}}\n' for j in range(7)) + '@data\n')


def _mulan_rows(X, Y, sparse, rng=None):
    """Data rows; with ``rng`` the sparse rows also hold every quirk the reader accepts."""
    rows = []
    for i, (x, y) in enumerate(zip(X, Y)):
        vals = [f'{v:g}' for v in x] + [str(v) for v in y]
        if not sparse:
            rows.append(','.join(vals))
            continue
        items = [f'{j} {v}' for j, v in enumerate(vals) if float(v) != 0]
        if rng is not None:
            if i % 5 == 1:
                rng.shuffle(items)  # out of index order
            zeros = [j for j, v in enumerate(vals) if float(v) == 0]
            if i % 7 == 2 and zeros:
                items.append(f'{zeros[0]} 0')  # an explicit zero
            if i % 11 == 4:
                items = [it.replace(' ', "  '", 1) + "'" for it in items]  # quoted values
            if i % 9 == 0:
                rows.append('% a comment between rows\n')
        rows.append('{' + ', '.join(items) + '}')
    return '\n'.join(rows) + '\n'


@pytest.mark.parametrize('chunk_chars', [1 << 21, 150])
def test_arff_sparse_mulan_file_equals_dense(tmp_path, monkeypatch, chunk_chars):
    """A sparse Mulan file (MEKA header or XML labels, quirks included) reads as the dense one,
    in one chunk or many."""
    from mlcl_plugin.datasets import mulan
    monkeypatch.setattr(mulan, '_CHUNK_CHARS', chunk_chars)
    X, Y = _mulan_data()
    rng = np.random.default_rng(1)
    dense = _write(tmp_path, 'dense.arff',
                   _mulan_header("'m: -C -7'") + _mulan_rows(X, Y, sparse=False))
    sparse = _write(tmp_path, 'sparse.arff',
                    _mulan_header("'m: -C -7'") + _mulan_rows(X, Y, True, rng) + '{}\n')
    Xd, Yd, feat, labels = load_arff(dense)
    Xs, Ys, feat_s, labels_s = load_arff(sparse)
    np.testing.assert_array_equal(Xd, X)
    np.testing.assert_array_equal(Yd, Y)
    np.testing.assert_array_equal(Xs[:-1], X)
    np.testing.assert_array_equal(Ys[:-1], Y)
    assert not Xs[-1].any()
    assert not Ys[-1].any()
    assert feat == feat_s == [f'f{j}' for j in range(10)] + [f'w{j}' for j in range(4)]
    assert labels == labels_s == [f'lab{j}' for j in range(7)]
    # Mulan's layout: plain relation, labels named in the XML file (here in another order)
    order = [6, 0, 3, 1, 2, 5, 4]
    xml = _write(tmp_path, 'm.xml', '<labels xmlns="http://mulan.sourceforge.net/labels">'
                 + ''.join(f'<label name="lab{j}"></label>' for j in order) + '</labels>')
    plain = _write(tmp_path, 'plain.arff', _mulan_header('m') + _mulan_rows(X, Y, True, rng))
    Xp, Yp, _, labels_p = load_arff(plain, label_names=load_mulan_xml(xml))
    np.testing.assert_array_equal(Xp, X)
    np.testing.assert_array_equal(Yp, Y[:, order])
    assert labels_p == [f'lab{j}' for j in order]
    # dense and sparse rows mixed in one file
    mixed = _write(tmp_path, 'mixed.arff', _mulan_header("'m: -C -7'")
                   + _mulan_rows(X[:15], Y[:15], sparse=False)
                   + _mulan_rows(X[15:30], Y[15:30], sparse=True)
                   + _mulan_rows(X[30:], Y[30:], sparse=False))
    Xm, Ym, _, _ = load_arff(mixed)
    np.testing.assert_array_equal(Xm, X)
    np.testing.assert_array_equal(Ym, Y)


def test_arff_sparse_file_bounded_memory(tmp_path, monkeypatch):
    """A sparse file is held as its non-zeros: reading it costs the dense result and one chunk
    of rows, not a dense float64 copy of every attribute (nor Python rows)."""
    import tracemalloc

    from mlcl_plugin.datasets import mulan
    monkeypatch.setattr(mulan, '_CHUNK_CHARS', 1 << 16)  # a few chunks for this small file
    rng = np.random.default_rng(0)
    n, num_feat, num_labels = 1500, 2000, 500
    lines = []
    for _ in range(n):
        f = np.sort(rng.choice(num_feat, 10, replace=False))
        lab = np.sort(rng.choice(num_labels, 3, replace=False)) + num_feat
        lines.append('{' + ','.join([f'{j} {rng.normal():.4f}' for j in f]
                                    + [f'{j} 1' for j in lab]) + '}')
    text = (f"@relation 'big: -C -{num_labels}'\n"
            + ''.join(f'@attribute f{j} numeric\n' for j in range(num_feat))
            + ''.join(f'@attribute l{j} {{0,1}}\n' for j in range(num_labels))
            + '@data\n' + '\n'.join(lines) + '\n')
    path = _write(tmp_path, 'big.arff', text)
    mulan.clear_arff_cache()
    tracemalloc.start()
    try:
        X, Y, _, _ = load_arff(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert X.shape == (n, num_feat)
    assert Y.shape == (n, num_labels)
    assert (X != 0).sum() == 10 * n
    assert Y.sum() == 3 * n
    assert peak < 1.15 * (X.nbytes + Y.nbytes)
    table = mulan._arff_table(path, 'utf-8', None, None, None)
    assert table.sparse
    assert table.nbytes < (X.nbytes + Y.nbytes) / 20


@pytest.mark.parametrize(('row', 'match'), [
    ('{0 1, 0 2, 20 1}', 'sparse index 0 given twice in one row'),
    ('{2 1, 30 1}', r'sparse index 30 out of range \[0, 21\)'),
    ('{2 1, 15 2}', "invalid label value '2' for attribute 'lab1'"),
    ('{2 1, 12 x}', "invalid nominal value 'x' for attribute 'w2'"),
    ('{2 ?, 15 1}', "non-numeric value '\\?' for attribute 'f2'"),
    ('1,2,3', 'malformed row: 3 values, expected 21'),
    (','.join(['0'] * 5 + ['x'] + ['0'] * 15), "non-numeric value 'x' for attribute 'f5'"),
])
def test_arff_error_in_a_later_chunk(tmp_path, monkeypatch, row, match):
    """A bad row after many good ones (in many chunks) names its own line."""
    from mlcl_plugin.datasets import mulan
    monkeypatch.setattr(mulan, '_CHUNK_CHARS', 300)
    X, Y = _mulan_data()
    good = _mulan_rows(X, Y, sparse='{' in row)
    text = _mulan_header("'m: -C -7'") + good + row + '\n' + good
    line = text.splitlines().index(row) + 1
    path = _write(tmp_path, 'bad.arff', text)
    with pytest.raises(ValueError, match=re.escape(f'{path}:{line}: ') + match):
        load_arff(path)


def test_arff_parsed_once_per_file(tmp_path, monkeypatch):
    """Train, val and test sets (and the test set's scaler) of one run parse each file once;
    a touched or rewritten file is parsed again; callers get their own arrays."""
    from mlcl_plugin.datasets import mulan
    calls = []
    parse = mulan._parse_arff

    def counting(path, *args):
        calls.append(osp.basename(path))
        return parse(path, *args)

    monkeypatch.setattr(mulan, '_parse_arff', counting)
    mulan.clear_arff_cache()
    X, Y = _mulan_data()
    train = _write(tmp_path, 'train.arff',
                   _mulan_header("'m: -C -7'") + _mulan_rows(X, Y, sparse=False))
    test = _write(tmp_path, 'test.arff',
                  _mulan_header("'m: -C -7'") + _mulan_rows(X[:9], Y[:9], sparse=True))
    kw = dict(val_fraction=0.25, serialize_data=False)
    ds_train = MulanDataset(train, split='train', **kw)
    ds_val = MulanDataset(train, split='val', **kw)
    ds_test = MulanDataset(test, scaler_file=train, scaler_val_fraction=0.25,
                           serialize_data=False)
    assert sorted(calls) == ['test.arff', 'train.arff']
    assert len(ds_train) + len(ds_val) == 40
    assert len(ds_test) == 9
    np.testing.assert_allclose(ds_test.scaler_mean, ds_train.scaler_mean)
    # the arrays are the caller's: writing to them does not reach the cache
    for path in (train, test):
        X1 = load_arff(path)[0]
        X1[:] = 99
        np.testing.assert_array_equal(load_arff(path)[0], X[:len(X1)])
    assert len(calls) == 2
    # touched: parsed again
    st = os.stat(train)
    os.utime(train, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    load_arff(train)
    assert calls.count('train.arff') == 2
    # rewritten with the same size and mtime: the CRC tells
    st = os.stat(train)
    head, data = Path(train).read_text().split('@data\n')
    first, rest = data.split('\n', 1)
    flipped = first[:-1] + ('1' if first[-1] == '0' else '0')  # the last label of row 0
    Path(train).write_text(f'{head}@data\n{flipped}\n{rest}')
    os.utime(train, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(train).st_size == st.st_size
    assert load_arff(train)[1][0, -1] == 1 - Y[0, -1]
    assert calls.count('train.arff') == 3
    # another label selection is another entry; the cache is bounded
    load_arff(train, label_names=['lab1', 'lab0'])
    assert calls.count('train.arff') == 4
    monkeypatch.setattr(mulan, 'ARFF_CACHE_MAX_FILES', 1)
    load_arff(train, label_names=['lab2'])  # a new entry: the others go
    assert len(mulan._ARFF_CACHE) == 1
    load_arff(train)
    assert calls.count('train.arff') == 6
    mulan.clear_arff_cache()
    load_arff(train)
    assert calls.count('train.arff') == 7


# --------------------------------------------------------------------------------------------
# split_files: one description of a data set's splits for its three loaders


def _random_arff(path, rows, features=3, labels=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(3.0, 2.0, size=(rows, features))
    Y = (rng.random((rows, labels)) < 0.4).astype(int)
    attrs = ''.join(f'@attribute f{i} numeric\n' for i in range(features))
    attrs += ''.join(f'@attribute l{i} {{0,1}}\n' for i in range(labels))
    body = '\n'.join(','.join([f'{v:.6f}' for v in x] + [str(v) for v in y])
                     for x, y in zip(X, Y))
    path.write_text(f"@relation 'r: -C -{labels}'\n{attrs}@data\n{body}\n")
    return X.astype(np.float32), Y


def _rows(ds):
    return np.stack([ds.get_data_info(i)['img'] for i in range(len(ds))])


def test_split_files_carve_out_equals_per_file_arguments(tmp_path):
    _random_arff(tmp_path / 'd-train.arff', 50, seed=1)
    _random_arff(tmp_path / 'd-test.arff', 20, seed=2)
    common = dict(data_root=str(tmp_path), val_fraction=0.2, val_seed=5,
                  split_files=dict(train='d-train.arff', test='d-test.arff'))
    new = {s: MulanDataset(split=s, **common) for s in ('train', 'val', 'test')}
    old = dict(
        train=MulanDataset('d-train.arff', data_root=str(tmp_path), split='train',
                           val_fraction=0.2, val_seed=5),
        val=MulanDataset('d-train.arff', data_root=str(tmp_path), split='val',
                         val_fraction=0.2, val_seed=5),
        test=MulanDataset('d-test.arff', data_root=str(tmp_path), scaler_file='d-train.arff',
                          scaler_val_fraction=0.2, val_seed=5))
    assert [len(new[s]) for s in ('train', 'val', 'test')] == [40, 10, 20]
    for s in ('train', 'val', 'test'):
        np.testing.assert_array_equal(_rows(new[s]), _rows(old[s]))
        # one set of statistics for every split: the 40 training rows
        np.testing.assert_array_equal(new[s].scaler_mean, new['train'].scaler_mean)
        np.testing.assert_array_equal(new[s].scaler_std, new['train'].scaler_std)
    train_rows = [new['train'].get_data_info(i)['row_idx'] for i in range(40)]
    X = load_arff(str(tmp_path / 'd-train.arff'))[0].astype(np.float64)
    np.testing.assert_allclose(new['test'].scaler_mean, X[train_rows].mean(0))
    assert 'Split files:' in repr(new['test'])


def test_split_files_with_a_val_file(tmp_path):
    _random_arff(tmp_path / 'tr.arff', 30, seed=1)
    _random_arff(tmp_path / 'va.arff', 10, seed=2)
    _random_arff(tmp_path / 'te.arff', 12, seed=3)
    files = dict(train='tr.arff', val='va.arff', test='te.arff')
    ds = {s: MulanDataset(split=s, data_root=str(tmp_path), split_files=files)
          for s in ('train', 'val', 'test')}
    assert [len(ds[s]) for s in ('train', 'val', 'test')] == [30, 10, 12]
    X = load_arff(str(tmp_path / 'tr.arff'))[0].astype(np.float64)
    for s in ds:
        np.testing.assert_allclose(ds[s].scaler_mean, X.mean(0))
    np.testing.assert_allclose(_rows(ds['train']).mean(0), 0, atol=1e-5)


@pytest.mark.parametrize(('kwargs', 'match'), [
    (dict(ann_file='d-train.arff'), 'give split_files or ann_file, not both'),
    (dict(scaler_file='d-train.arff'), 'give split_files or scaler_file, not both'),
    (dict(split='all'), 'with split_files, split must be one of'),
    (dict(split='val', val_fraction=0.0), 'names no val file .*give val_fraction > 0'),
    (dict(split_files=dict(test='d-test.arff')), 'split_files needs a train file'),
    (dict(split_files=dict(train='d-train.arff', dev='x')), "got keys \\['dev', 'train'\\]"),
    (dict(split_files=dict(train='d-train.arff', val='d-test.arff'), val_fraction=0.2),
     'names a val file .* asks for a carve-out too'),
    (dict(split='test', split_files=dict(train='d-train.arff')), 'names no test file'),
])
def test_split_files_errors(tmp_path, kwargs, match):
    _random_arff(tmp_path / 'd-train.arff', 20, seed=1)
    _random_arff(tmp_path / 'd-test.arff', 10, seed=2)
    args = dict(data_root=str(tmp_path), split='val', val_fraction=0.2,
                split_files=dict(train='d-train.arff', test='d-test.arff'))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        MulanDataset(**args)


def test_num_features_is_checked(tmp_path):
    _random_arff(tmp_path / 'd.arff', 10, features=4)
    assert MulanDataset('d.arff', data_root=str(tmp_path), num_features=4).num_features == 4
    with pytest.raises(ValueError, match=r'd\.arff: 4 features, but num_features=5'):
        MulanDataset('d.arff', data_root=str(tmp_path), num_features=5)


@pytest.mark.parametrize('config', ['yeast_mulsupcon_vectors', 'scene_mulan_vectors'])
def test_real_config_splits_equal_the_per_file_construction(shared_data, config):
    """The data-set configs' split_files give exactly the rows and statistics of the
    per-file arguments the yeast / scene results were produced with."""
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))), 'configs', '_base_', 'datasets', f'{config}.py'))
    folder = osp.basename(cfg.mulan.data_root.rstrip('/'))
    root = osp.join(shared_data, folder)
    new = {}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        spec = dict(cfg[loader].dataset)
        spec.pop('type')
        spec['data_root'] = root
        new[loader] = MulanDataset(**spec)
    if config.startswith('yeast'):
        old = [MulanDataset('yeast_official_train.npz', data_root=root),
               MulanDataset('yeast_official_val.npz', data_root=root,
                            scaler_file='yeast_official_train.npz'),
               MulanDataset('yeast_official_test.npz', data_root=root,
                            scaler_file='yeast_official_train.npz')]
        sizes = [1200, 300, 917]
    else:
        kw = dict(val_fraction=0.2, val_seed=0)
        old = [MulanDataset('scene-train.arff', data_root=root, split='train', **kw),
               MulanDataset('scene-train.arff', data_root=root, split='val', **kw),
               MulanDataset('scene-test.arff', data_root=root, scaler_file='scene-train.arff',
                            scaler_val_fraction=0.2, val_seed=0)]
        sizes = [969, 242, 1196]
    for ds, ref, size in zip(new.values(), old, sizes):
        assert len(ds) == size
        np.testing.assert_array_equal(_rows(ds), _rows(ref))
        assert [ds.get_data_info(i)['gt_label'] for i in range(len(ds))] == \
            [ref.get_data_info(i)['gt_label'] for i in range(len(ref))]
        assert ds.num_features == cfg.num_features
        assert len(ds.CLASSES) == cfg.num_classes
