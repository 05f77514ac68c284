# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Issue 13, data side: bad input files written in ``tmp_path`` (and real photos / Mulan files).

* finding 3: a NaN / inf feature (data file or scaler file) is rejected with the file, row and
  column, or imputed only on request (``nonfinite='impute_mean'``, checked against numpy);
* finding 6: a broken image, a split without rows, a Latin-1 ARFF, a truncated NPZ / HDF5
  raise an error naming the file (and line, row or key); images without annotations follow
  the documented drop / keep policy;
* finding 7: a label count that contradicts the ARFF attribute types, duplicate image entries,
  duplicate sparse indices, bad subset indices and image paths leaving ``data_root`` are
  rejected;
* finding 8: ``BlockWiseAug`` views are independent under in-place numpy and torch writes.
"""
import json
import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmcv.transforms import LoadImageFromFile as StockLoadImageFromFile
from mmpretrain.registry import TRANSFORMS

import mlcl_plugin  # noqa: F401  (registers the plugin modules)
from mlcl_plugin.datasets import (
    COCOMultiLabel,
    MulanDataset,
    load_arff,
    load_hdf5,
    load_npz,
    make_toy_shapes,
)
from mlcl_plugin.datasets.transforms import BlockWiseAug, ImageLoadError, block_boxes

h5py = pytest.importorskip('h5py')


def _mulan(*args, **kwargs):
    # mmengine's serialisation runs gc.collect(), a third of a second in a full test process
    kwargs.setdefault('serialize_data', False)
    return MulanDataset(*args, **kwargs)

HEADER = ('@relation toy\n'                # line 1
          '@attribute f1 numeric\n'        # line 2
          '@attribute f2 real\n'           # line 3
          '@attribute f3 numeric\n'        # line 4
          '@attribute l1 {0,1}\n'          # line 5
          '@attribute l2 {0,1}\n'          # line 6
          '@attribute l3 {0,1}\n'          # line 7
          '@data\n')                       # line 8, rows from line 9
ROWS = ['0.5,1,3,1,0,1', '-1.25,2,0,0,0,0', '0,0,0,0,1,0', '1,1,1,1,1,1']


def _arff(tmp_path, rows=ROWS, header=HEADER, name='a.arff'):
    path = tmp_path / name
    path.write_text(header + '\n'.join(rows) + '\n')
    return str(path)


def _npz(tmp_path, X, Y=None, name='a.npz', **extra):
    X = np.asarray(X, dtype=np.float64)
    if Y is None:
        Y = (np.arange(X.shape[0] * 2).reshape(-1, 2) % 3 == 0).astype(np.uint8)
    path = str(tmp_path / name)
    np.savez(path, X=X, Y=Y, **extra)
    return path


# ------------------------------------------------------------------------------ finding 3
@pytest.mark.parametrize('value', ['nan', 'NaN', 'inf', '-Infinity', '1e39'])
@pytest.mark.parametrize('sparse', [False, True], ids=['dense', 'sparse'])
def test_finding3_nonfinite_arff_feature_rejected(tmp_path, value, sparse):
    """A NaN, inf or float32-overflowing ARFF feature names the file, line, row and column."""
    rows = list(ROWS)
    rows[1] = f'-1.25,{value},0,0,0,0'
    if sparse:
        rows[1] = f'{{0 -1.25, 1 {value}}}'
    path = _arff(tmp_path, rows)
    what = 'NaN' if 'nan' in value.lower() else 'infinite'
    with pytest.raises(ValueError, match=re.escape(path) + r": line 10 \(data row 1\), "
                       rf"attribute 'f2' \(column 1\): feature value is {what}"):
        load_arff(path, num_labels=3)
    # the caller that imputes gets the raw values
    X = load_arff(path, num_labels=3, allow_nonfinite=True)[0]
    assert not np.isfinite(X[1, 1])
    assert np.isfinite(np.delete(X.ravel(), 4)).all()


@pytest.mark.parametrize('fmt', ['npz', 'hdf5'])
def test_finding3_nonfinite_npz_hdf5_feature_rejected(tmp_path, fmt):
    """NaN / inf in an NPZ or HDF5 feature array names the file, row, column and feature."""
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    X[2, 1] = np.nan
    X[3, 0] = np.inf
    Y = np.zeros((4, 2), np.uint8)
    names = np.array(['a', 'b', 'c'])
    if fmt == 'npz':
        path, load = _npz(tmp_path, X, Y, feature_names=names), load_npz
    else:
        path, load = str(tmp_path / 'a.h5'), load_hdf5
        with h5py.File(path, 'w') as f:
            f['feature'], f['target'], f['feature_names'] = X, Y, names.astype('S')
    with pytest.raises(ValueError, match=re.escape(path) + r": row 2, column 1 \('b'\): "
                       r'feature value is NaN; 2 non-finite'):
        load(path)
    with pytest.raises(ValueError, match=r'row 2, column 1 .*NaN'):
        _mulan(path)


def test_finding3_nonfinite_scaler_file_rejected(tmp_path):
    """A NaN in the scaler (training) file is reported with that file, not a NaN column."""
    clean = _npz(tmp_path, np.arange(8.0).reshape(4, 2), name='test.npz')
    X = np.arange(8.0).reshape(4, 2)
    X[3, 1] = -np.inf
    train = _npz(tmp_path, X, name='train.npz')
    with pytest.raises(ValueError, match=re.escape(train) + r': row 3, column 1: feature '
                       'value is infinite'):
        _mulan(clean, scaler_file=train)
    # the clean file alone is fine and finite
    ds = _mulan(clean)
    assert np.isfinite(np.stack([ds.get_data_info(i)['img'] for i in range(4)])).all()


def test_finding3_nonfinite_target_rejected(tmp_path):
    """A NaN target names the row and column instead of only 'must be 0/1'."""
    Y = np.zeros((3, 2))
    Y[1, 1] = np.nan
    path = _npz(tmp_path, np.zeros((3, 2)), Y)
    with pytest.raises(ValueError, match=re.escape(path) + r': target values must be 0/1; '
                       r'row 1, column 1 holds nan'):
        load_npz(path)


def test_finding3_impute_mean_opt_in_matches_numpy(tmp_path):
    """nonfinite='impute_mean' fills with the finite training column mean, then standardises;
    checked against a plain numpy computation, for the train file and a test file that uses
    it as scaler file."""
    rng = np.random.default_rng(0)
    X_train = rng.normal(size=(12, 3))
    X_train[1, 0], X_train[4, 2], X_train[7, 2] = np.nan, np.inf, -np.inf
    X_test = rng.normal(size=(5, 3))
    X_test[0, 1] = np.nan
    train = _npz(tmp_path, X_train, name='train.npz')
    test = _npz(tmp_path, X_test, name='test.npz')

    X32 = X_train.astype(np.float32).astype(np.float64)
    fill = np.nanmean(np.where(np.isfinite(X32), X32, np.nan), axis=0)
    filled = np.where(np.isfinite(X32), X32, fill.astype(np.float32))
    mean, std = filled.mean(0), filled.std(0)

    ds_train = _mulan(train, nonfinite='impute_mean')
    ds_test = _mulan(test, scaler_file=train, nonfinite='impute_mean')
    assert (ds_train.num_imputed, ds_test.num_imputed) == (3, 1)
    got = np.stack([ds_train.get_data_info(i)['img'] for i in range(12)])
    np.testing.assert_allclose(got, (filled - mean) / std, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1, 0], 0, atol=1e-6)  # imputed -> standardises to 0
    X_test32 = X_test.astype(np.float32).astype(np.float64)
    test_filled = np.where(np.isfinite(X_test32), X_test32, fill.astype(np.float32))
    got = np.stack([ds_test.get_data_info(i)['img'] for i in range(5)])
    np.testing.assert_allclose(got, (test_filled - mean) / std, rtol=1e-5, atol=1e-6)
    assert 'imputed with training column means (1 values)' in repr(ds_test)
    # default: rejected; opt-in is a no-op on clean data
    with pytest.raises(ValueError, match='non-finite'):
        _mulan(train)
    clean = _npz(tmp_path, rng.normal(size=(6, 3)), name='clean.npz')
    a, b = _mulan(clean), _mulan(clean, nonfinite='impute_mean')
    for i in range(6):
        np.testing.assert_array_equal(a.get_data_info(i)['img'], b.get_data_info(i)['img'])
    # a column without any finite training value cannot be imputed
    X_bad = rng.normal(size=(4, 2))
    X_bad[:, 1] = np.nan
    bad = _npz(tmp_path, X_bad, name='bad.npz')
    with pytest.raises(ValueError, match=re.escape(bad) + ': feature column 1 has no finite'):
        _mulan(bad, nonfinite='impute_mean')
    with pytest.raises(ValueError, match='nonfinite must be one of'):
        _mulan(clean, nonfinite='zero')


# ------------------------------------------------------------------------------ finding 6
COCO_ANN = {
    'images': [{'id': 1, 'file_name': '001.jpg'}, {'id': 2, 'file_name': '002.jpg'},
               {'id': 3, 'file_name': '003.jpg'}],
    'annotations': [{'id': 1, 'image_id': 1, 'category_id': 5},
                    {'id': 2, 'image_id': 2, 'category_id': 6}],
    'categories': [{'id': 5, 'name': 'cat'}, {'id': 6, 'name': 'dog'}],
}


def _coco(tmp_path, images=None, annotations=None, **kwargs):
    coco = dict(COCO_ANN)
    if images is not None:
        coco['images'] = images
    if annotations is not None:
        coco['annotations'] = annotations
    (tmp_path / 'imgs').mkdir(exist_ok=True)
    (tmp_path / 'ann.json').write_text(json.dumps(coco))
    kwargs.setdefault('serialize_data', False)
    return COCOMultiLabel(ann_file='ann.json', data_root=str(tmp_path), data_prefix='imgs',
                          **kwargs)


def _broken_bytes(kind, coco128):
    photo = open(osp.join(coco128, 'train2017', '000000000009.jpg'), 'rb').read()
    return {'empty': b'', 'truncated': photo[:len(photo) // 2],
            'garbage': b'\xff\xd8\xff\xe0 not a jpeg' + bytes(500)}[kind]


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
@pytest.mark.parametrize(('kind', 'reason'), [
    ('empty', r'the file is empty \(0 bytes\)'),
    ('truncated', r'the \w+ decoder (could not decode|rejected) its \d+ bytes'),
    ('garbage', r'the \w+ decoder (could not decode|rejected) its 515 bytes'),
])
def test_finding6_broken_image_names_file(tmp_path, coco128, backend, kind, reason):
    """A zero-byte, truncated (a real photo cut in half) or corrupt image raises
    ImageLoadError 'failed to load image: <path>: <why>' through the stock config name."""
    ds = _coco(tmp_path, pipeline=[dict(type='LoadImageFromFile', imdecode_backend=backend),
                                   dict(type='PackInputs')])
    path = tmp_path / 'imgs' / '001.jpg'
    path.write_bytes(_broken_bytes(kind, coco128))
    with pytest.raises(ImageLoadError, match=f'failed to load image: {re.escape(str(path))}: '
                       f'{reason}'):
        ds[0]
    # ignore_empty: skipped (None) rather than raised, for every kind of breakage
    loader = TRANSFORMS.build(dict(type='LoadImageFromFile', imdecode_backend=backend,
                                   ignore_empty=True))
    assert loader(dict(img_path=str(path))) is None
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / 'nope.jpg'))):
        TRANSFORMS.build(dict(type='LoadImageFromFile'))(dict(img_path=str(tmp_path /
                                                                          'nope.jpg')))


def test_finding6_checked_loader_equals_stock_on_good_photos(coco128):
    """The checked loader decodes real photos exactly as mmcv's stock loader."""
    checked = TRANSFORMS.build(dict(type='LoadImageFromFile'))
    assert isinstance(checked, StockLoadImageFromFile)
    stock = StockLoadImageFromFile()
    for name in ('000000000009.jpg', '000000000025.jpg'):
        path = osp.join(coco128, 'train2017', name)
        a, b = checked(dict(img_path=path)), stock(dict(img_path=path))
        np.testing.assert_array_equal(a['img'], b['img'])
        assert a['img_shape'] == b['img_shape'] == a['ori_shape']


def test_finding6_latin1_arff(tmp_path):
    """A Latin-1 ARFF names the file, line and byte offset; encoding='latin-1' reads it."""
    text = HEADER.replace('f2', 'caf\xe9') + '\n'.join(ROWS) + '\n'
    path = tmp_path / 'latin1.arff'
    path.write_bytes(text.encode('latin-1'))
    offset = text.encode('latin-1').index(b'\xe9')
    with pytest.raises(ValueError, match=re.escape(str(path)) + f':3: byte e9 at byte offset '
                       f"{offset} is not valid utf-8.*encoding='latin-1'"):
        load_arff(str(path), num_labels=3)
    X, _, feat, _ = load_arff(str(path), num_labels=3, encoding='latin-1')
    assert feat == ['f1', 'caf\xe9', 'f3']
    ds = _mulan(str(path), num_labels=3, arff_encoding='latin-1', standardize=False)
    np.testing.assert_array_equal(ds.get_data_info(0)['img'], X[0])
    # a UTF-8 byte-order mark is not an error
    bom = tmp_path / 'bom.arff'
    bom.write_bytes(b'\xef\xbb\xbf' + text.encode('utf-8'))
    assert load_arff(str(bom), num_labels=3)[2] == feat


@pytest.mark.parametrize('compressed', [False, True])
def test_finding6_truncated_npz_names_file(tmp_path, compressed):
    """A truncated or corrupt NPZ names the file (and the array when the archive opens)."""
    good = str(tmp_path / 'good.npz')
    save = np.savez_compressed if compressed else np.savez
    save(good, X=np.random.default_rng(0).normal(size=(40, 5)), Y=np.zeros((40, 2)))
    data = open(good, 'rb').read()
    bad = str(tmp_path / 'bad.npz')
    for cut in (0, 10, len(data) // 2, len(data) - 30):
        open(bad, 'wb').write(data[:cut])
        with pytest.raises(ValueError, match=re.escape(bad) + ': cannot read the archive'):
            load_npz(bad)
    corrupt = bytearray(data)
    corrupt[120:180] = bytes(60)  # inside the first member's data: a CRC / zlib error
    open(bad, 'wb').write(bytes(corrupt))
    with pytest.raises(ValueError, match=re.escape(bad) + r": cannot read array 'X'"):
        load_npz(bad)
    np.save(str(tmp_path / 'single.npy'), np.zeros(3))
    single = str(tmp_path / 'single.npz')
    open(single, 'wb').write(open(str(tmp_path / 'single.npy'), 'rb').read())
    with pytest.raises(ValueError, match=re.escape(single) + ': not an .npz archive'):
        load_npz(single)


def test_finding6_truncated_hdf5_names_file(tmp_path):
    """A truncated HDF5 file names the file."""
    good = str(tmp_path / 'good.h5')
    with h5py.File(good, 'w') as f:
        f['feature'], f['target'] = np.ones((300, 20)), np.zeros((300, 3))
    data = open(good, 'rb').read()
    bad = str(tmp_path / 'bad.h5')
    for cut in (0, 10, len(data) // 2, len(data) - 30):
        open(bad, 'wb').write(data[:cut])
        with pytest.raises(ValueError, match=re.escape(bad) + ': cannot read the HDF5 file'):
            _mulan(bad)


def test_finding6_split_with_zero_rows(tmp_path):
    """A file, split or scaler carve-out without rows names the file; so do a COCO file whose
    images are all dropped and a ToyShapes split of 0 images."""
    empty = _npz(tmp_path, np.zeros((0, 3)), np.zeros((0, 2)), name='empty.npz')
    with pytest.raises(ValueError, match=re.escape(empty) + ': the file has no data rows'):
        _mulan(empty)
    header_only = _arff(tmp_path, rows=[], name='header_only.arff')
    with pytest.raises(ValueError, match=re.escape(header_only) + ': the file has no data'):
        _mulan(header_only, num_labels=3)
    one = _npz(tmp_path, np.ones((1, 3)), name='one.npz')
    with pytest.raises(ValueError, match=re.escape(one) + ': val_fraction=0.5 of 1 rows '
                       'leaves an empty split'):
        _mulan(one, split='val', val_fraction=0.5)
    five = _npz(tmp_path, np.ones((5, 3)), name='five.npz')
    with pytest.raises(ValueError, match=re.escape(empty) + ': the file has no data rows'):
        _mulan(five, scaler_file=empty)
    with pytest.raises(ValueError, match=re.escape(one) + ': val_fraction=0.5 of 1 rows'):
        _mulan(five, scaler_file=one, scaler_val_fraction=0.5)

    ann = str(tmp_path / 'ann.json')
    with pytest.raises(ValueError, match=re.escape(ann) + r' has no image with an annotation '
                       r'\(3 images, all dropped; keep_empty=True'):
        _coco(tmp_path, annotations=[])
    with pytest.raises(ValueError, match=re.escape(ann) + ' lists no images'):
        _coco(tmp_path, images=[], annotations=[])
    assert len(_coco(tmp_path, annotations=[], keep_empty=True)) == 3
    with pytest.raises(ValueError, match='num_test must be a positive int'):
        make_toy_shapes(str(tmp_path / 'toy'), num_train=2, num_test=0)


def test_finding6_image_without_annotations_policy(tmp_path):
    """Documented policy: an image without annotations is dropped and listed, or kept as an
    all-negative sample with keep_empty=True."""
    ds = _coco(tmp_path)
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == [1, 2]
    assert ds.num_dropped == 1
    kept = _coco(tmp_path, keep_empty=True)
    assert kept.get_data_info(2)['gt_label'] == []
    from mlcl_plugin.datasets.coco_multilabel import load_coco_json, parse_coco_multilabel
    info = parse_coco_multilabel(load_coco_json(str(tmp_path / 'ann.json')))
    assert info.dropped_file_names == ('003.jpg',)


# ------------------------------------------------------------------------------ finding 7
@pytest.mark.parametrize(('num_labels', 'location', 'match'), [
    (2, 'last', r":5: num_labels=2 \(last\) makes attribute 'l1' a feature, .* probably 3"),
    (1, 'last', r":6: num_labels=1 \(last\) makes attribute 'l2' a feature"),
    (4, 'last', r":4: num_labels=4 \(last\) makes the numeric attribute 'f3' a label.* "
                'probably 3'),
])
def test_finding7_arff_wrong_num_labels_rejected(tmp_path, num_labels, location, match):
    """Without a MEKA header a wrong num_labels would move a label into the features (or a
    feature into the labels) silently; the attribute types expose it."""
    path = _arff(tmp_path)
    with pytest.raises(ValueError, match=re.escape(path) + match):
        load_arff(path, num_labels=num_labels, label_location=location)
    with pytest.raises(ValueError, match='probably 3'):
        _mulan(path, num_labels=num_labels)
    X, Y, feat, labels = load_arff(path, num_labels=3)
    assert labels == ['l1', 'l2', 'l3']
    assert feat == ['f1', 'f2', 'f3']
    # labels first: the same check from the other end
    lines = HEADER.splitlines()
    header = '\n'.join(lines[:1] + lines[4:7] + lines[1:4] + lines[7:]) + '\n'
    first = _arff(tmp_path, rows=[','.join(r.split(',')[3:] + r.split(',')[:3]) for r in ROWS],
                  header=header, name='first.arff')
    np.testing.assert_array_equal(load_arff(first, num_labels=3, label_location='first')[1], Y)
    with pytest.raises(ValueError, match="makes attribute 'l3' a feature"):
        load_arff(first, num_labels=2, label_location='first')
    # selecting by name is the way out when a {0,1} attribute really is a feature
    assert load_arff(path, label_names=['l2', 'l3'])[2] == ['f1', 'f2', 'f3', 'l1']


def test_finding7_real_yeast_without_meka_header(tmp_path, shared_data):
    """The real yeast ARFF with its MEKA header removed: num_labels=14 reads it exactly as
    the header does, 13 is rejected."""
    src = osp.join(shared_data, 'mulan_yeast', 'yeast-test.arff')
    text = open(src).read().replace("@relation 'yeast: -C -14'", '@relation yeast', 1)
    path = tmp_path / 'yeast.arff'
    path.write_text(text)
    ref = load_arff(src)
    got = load_arff(str(path), num_labels=14)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"num_labels=13 \(last\) makes attribute 'Class1' "
                       'a feature.*probably 14'):
        load_arff(str(path), num_labels=13)


@pytest.mark.parametrize('row', ['{0 1, 0 2, 3 1}', '{1 0, 1 5}', '{5 1, 2 4, 5 0}'])
def test_finding7_duplicate_sparse_index_rejected(tmp_path, row):
    """A sparse index given twice in a row would silently keep one of its values."""
    path = _arff(tmp_path, rows=[ROWS[0], row])
    index = re.search(r'(\d+) [^,]*,.*\b\1 ', row[1:-1]).group(1)
    with pytest.raises(ValueError, match=re.escape(path) + f':10: sparse index {index} given '
                       'twice in one row'):
        load_arff(path, num_labels=3)


@pytest.mark.parametrize('row', ['{-1 1}', '{6 1}', '{99 1}'])
def test_finding7_out_of_range_sparse_index_rejected(tmp_path, row):
    """A sparse index outside the attributes is rejected with the line."""
    path = _arff(tmp_path, rows=[row])
    with pytest.raises(ValueError, match=re.escape(path) + r':9: sparse index -?\d+ out of '
                       r'range \[0, 6\)'):
        load_arff(path, num_labels=3)


@pytest.mark.parametrize(('indices', 'match'), [
    ([-1], r'indices\[0\] = -1 is not a sample index in \[0, 4\)'),
    ([0, 2, 0], r'indices\[2\] = 0 repeats an earlier index'),
    ([1, 4], r'indices\[1\] = 4 is not a sample index'),
    (9, 'indices=9 asks for more samples than the 4 there are'),
])
def test_finding7_bad_subset_indices_rejected(tmp_path, indices, match):
    """mmengine's ``indices`` would wrap a negative index and repeat a repeated one
    silently (and raise a bare IndexError past the end)."""
    path = _arff(tmp_path)
    with pytest.raises(ValueError, match=re.escape(path) + ': ' + match):
        _mulan(path, num_labels=3, indices=indices)
    assert [_mulan(path, num_labels=3, indices=[3, 1]).get_data_info(i)['row_idx']
            for i in range(2)] == [3, 1]
    (tmp_path / 'imgs').mkdir(exist_ok=True)
    images = [{'id': i, 'file_name': f'{i}.jpg'} for i in range(1, 5)]
    anns = [{'id': i, 'image_id': i, 'category_id': 5} for i in range(1, 5)]
    with pytest.raises(ValueError, match='ann.json: ' + match):
        _coco(tmp_path, images=images, annotations=anns, indices=indices)


@pytest.mark.parametrize(('second', 'match'), [
    ({'id': 9, 'file_name': '001.jpg'}, "images.3. .id=9. and images.0. .id=1. are the same "
                                        "image file '001.jpg'"),
    ({'id': 9, 'file_name': './sub/../001.jpg'}, 'are the same image file'),
    ({'id': 9, 'file_name': None}, r'images\[3\] \(id=9\) has file_name=None'),
])
def test_finding7_duplicate_image_entries_rejected(tmp_path, second, match):
    """Two image entries for one photo (a duplicate under another id) are rejected."""
    with pytest.raises(ValueError, match=match + '.*ann.json'):
        _coco(tmp_path, images=COCO_ANN['images'] + [second])


@pytest.mark.parametrize('file_name', ['../../secret.jpg', '/etc/passwd', 'a/../../../x.jpg'])
def test_finding7_file_name_escaping_data_root_rejected(tmp_path, file_name):
    """A file_name with '..' or an absolute path must not leave data_root unless
    allow_outside_root=True."""
    images, anns = [{'id': 1, 'file_name': file_name}], COCO_ANN['annotations'][:1]
    with pytest.raises(ValueError, match=r'ann\.json: image id=1 has file_name '
                       f'{re.escape(repr(file_name))}, which leads outside data_root'):
        _coco(tmp_path, images=images, annotations=anns)
    ds = _coco(tmp_path, images=images, annotations=anns, allow_outside_root=True)
    assert ds.get_data_info(0)['img_path'] == osp.join(str(tmp_path), 'imgs', file_name)


def test_finding7_file_name_inside_data_root_accepted(tmp_path):
    """'..' that stays inside data_root (a sibling image folder) is fine."""
    ds = _coco(tmp_path, images=[{'id': 1, 'file_name': '../val/1.jpg'}],
               annotations=COCO_ANN['annotations'][:1])
    assert osp.normpath(ds.get_data_info(0)['img_path']) == osp.join(str(tmp_path), 'val',
                                                                      '1.jpg')


# ------------------------------------------------------------------------------ finding 8
def _coord_image(width, height):
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([ys, xs, np.full_like(ys, 7)], axis=2).astype(np.float32)


def test_finding8_inplace_torch_op_stays_in_its_view():
    """An in-place torch op in pipeline 0 (through torch.from_numpy, which ignores numpy's
    read-only flag) must not change pipeline 1's views of the same, overlapping blocks."""

    def zero_in_place(results):
        torch.from_numpy(results['img']).mul_(0)
        return results

    img = _coord_image(40, 30)
    original = img.copy()
    transform = BlockWiseAug(transforms=[[zero_in_place], [lambda r: r]], gamma=0.3)
    views = transform(dict(img=img))['img']
    boxes = block_boxes(40, 30, 0.3)
    np.testing.assert_array_equal(img, original)
    for v, view in enumerate(views):
        x0, y0, x1, y1 = boxes[v % 4]
        expected = original[y0:y1, x0:x1] * (0 if v < 4 else 1)
        np.testing.assert_array_equal(view, expected, err_msg=f'view {v}')
    for i in range(len(views)):
        for j in range(i + 1, len(views)):
            assert not np.shares_memory(views[i], views[j]), (i, j)


def test_finding8_inplace_numpy_write_stays_in_its_view():
    """A numpy in-place write (previously an error) now only changes its own view."""

    def erase(results):
        results['img'][:2, :2] = -1
        return results

    img = _coord_image(16, 16)
    original = img.copy()
    views = BlockWiseAug(transforms=[[], [erase]], gamma=0.5)(dict(img=img))['img']
    np.testing.assert_array_equal(img, original)
    for v, view in enumerate(views):
        assert view.flags.writeable
        assert (view[:2, :2] == -1).all() == (v >= 4), v
        np.testing.assert_array_equal(view[2:, 2:], original[2:16, 2:view.shape[1]])


def test_finding7_interrupted_toy_regeneration_never_pairs_old_labels_with_new_images(
        tmp_path, monkeypatch):
    """An interrupted ToyShapes regeneration (other parameters) must not leave the old stamp
    behind: the next call with the old parameters would return the old labels for images that
    were already re-rendered."""
    from mlcl_plugin.datasets import toy_shapes

    kwargs = dict(num_train=3, num_test=1, size=16)
    ref, root = tmp_path / 'ref', tmp_path / 'toy'
    make_toy_shapes(str(ref), seed=0, **kwargs)
    make_toy_shapes(str(root), seed=0, **kwargs)
    render, calls = toy_shapes._render, []

    def render_then_crash(*args):
        calls.append(1)
        if len(calls) > 2:
            raise RuntimeError('killed')
        return render(*args)

    monkeypatch.setattr(toy_shapes, '_render', render_then_crash)
    with pytest.raises(RuntimeError, match='killed'):
        make_toy_shapes(str(root), seed=1, **kwargs)  # images 0 and 1 re-rendered, then dies
    monkeypatch.setattr(toy_shapes, '_render', render)
    files = make_toy_shapes(str(root), seed=0, **kwargs)
    assert json.load(open(files['train'])) == json.load(open(ref / 'train.json'))
    for name in ('train_00000.png', 'train_00001.png', 'train_00002.png', 'test_00000.png'):
        assert (root / 'images' / name).read_bytes() == (ref / 'images' / name).read_bytes()
