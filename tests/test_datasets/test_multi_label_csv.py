# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Tests of :class:`mlcl_plugin.datasets.MultiLabelCsvDataset`.

Small CSV, split and class files with real 8x8 images, written under ``tmp_path``, check:

- both label formats: ``'columns'`` (classes from the header, a list or a file; a class subset
  drops the other columns; ``ignore_columns``) and ``'names'`` (whitespace or a custom
  ``label_delimiter``; classes from a list or a file fix the indices; sorted found names when
  None; ``vocabulary`` drops names outside the classes; an empty cell is all-negative);
- the samples: ``img_path`` (``data_root`` + ``data_prefix``), sorted ``gt_label``,
  ``csv_row`` (1-based line number, header = 1), ``metainfo['classes']``, ``len``, loading
  through a ``LoadImageFromFile`` + ``PackInputs`` pipeline, and building via the registry;
- row selection: split file order, the seeded ``subset='train'/'val'`` carve-out and the
  seeded, nested ``label_fraction`` subsets;
- every bad input raises, with a message naming the file, the line and the offending value.

On the real data (``shared_data``): PETA's random split (9,500 / 1,900 / 7,600 images, the 35
standard attributes read from the 106-name file) and MIML scene (1,600 / 400 images, 5
classes, and the 20 % validation carve-out of the training split).
"""
import csv
import os.path as osp
import re

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS
from mmpretrain.structures import DataSample
from PIL import Image

from mlcl_plugin.datasets import MultiLabelCsvDataset, val_split_indices

PIPELINE = [{'type': 'LoadImageFromFile'}, {'type': 'PackInputs'}]

# one 0/1 column per class, plus an 'id' column that is not a class
COLUMNS_CSV = ('image,sea,trees,id,sunset\n'
               'a.jpg,1,0,17,0\n'
               'b.jpg,0,0,18,0\n'
               'c.jpg,1,1,19,1\n'
               'd.png,0,1,20,0\n')
# one column of whitespace-separated names, plus a free-text column
NAMES_CSV = ('file,tags,note\n'
             'a.jpg,dog cat,x\n'
             'b.jpg,,y\n'
             'c.jpg,  cat   bird ,z\n'
             'd.png,dog dog,w\n')
IMAGES = ('a.jpg', 'b.jpg', 'c.jpg', 'd.png')


# ------------------------------------------------------------------------------------ helpers
def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def _image(path, value):
    """A real 8x8 image of one grey level (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, dtype=np.uint8)).save(str(path))


def _make(tmp_path, csv_text, images=IMAGES, prefix='imgs', name='labels.csv'):
    """Write ``root/<name>`` and ``root/<prefix>/<image>``; return (root, csv path)."""
    root = tmp_path / 'root'
    for k, image in enumerate(images):
        _image(root / prefix / image, 40 * k + 20)
    return str(root), _write(root / name, csv_text)


def _rows(ds):
    """(image file name, gt_label, csv_row) of every sample."""
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    return [(osp.basename(i['img_path']), i['gt_label'], i['csv_row']) for i in infos]


def _names(ds):
    return [osp.basename(ds.get_data_info(i)['img_path']) for i in range(len(ds))]


def _msg(*literals, line=None):
    """A regex that needs every literal (and ``line <line>`` when given), in any order."""
    parts = [re.escape(str(text)) for text in literals]
    if line is not None:
        parts.append(rf'line {line}\b')
    return '(?s)' + ''.join(f'(?=.*{part})' for part in parts)


def _label(k):
    """Labels of row ``k`` of :func:`_many`: class a when k is odd, class b when k % 4 >= 2."""
    return [c for c, on in enumerate((k % 2, (k // 2) % 2)) if on]


def _many(tmp_path, n=20):
    """A CSV of ``n`` images ``iKK.jpg`` (line k + 2) with two classes a, b."""
    lines = ['image,a,b'] + [f'i{k:02d}.jpg,{k % 2},{(k // 2) % 2}' for k in range(n)]
    return _make(tmp_path, '\n'.join(lines) + '\n', [f'i{k:02d}.jpg' for k in range(n)])


# ----------------------------------------------------------------------- 'columns' format
def test_columns_classes_from_header(tmp_path):
    root, _ = _make(tmp_path, COLUMNS_CSV)
    ds = MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                              ignore_columns=['id'])
    assert ds.metainfo['classes'] == ('sea', 'trees', 'sunset')
    assert ds.num_classes == 3
    assert len(ds) == 4
    assert _rows(ds) == [('a.jpg', [0], 2), ('b.jpg', [], 3), ('c.jpg', [0, 1, 2], 4),
                         ('d.png', [1], 5)]
    for idx, image in enumerate(IMAGES):
        assert ds.get_data_info(idx)['img_path'] == osp.join(root, 'imgs', image)
    # without ignore_columns the 'id' column is a class column, and 17 is not a 0/1 label
    with pytest.raises(ValueError, match=_msg(osp.join(root, 'labels.csv'), "'id'", "'17'",
                                              line=2)):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs')


def test_columns_classes_from_list_subset(tmp_path):
    root, _ = _make(tmp_path, COLUMNS_CSV)
    # the list order defines the indices; 'trees' and 'id' are dropped (no 0/1 check on 'id')
    ds = MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                              classes=['sunset', 'sea'])
    assert ds.metainfo['classes'] == ('sunset', 'sea')
    assert _rows(ds) == [('a.jpg', [1], 2), ('b.jpg', [], 3), ('c.jpg', [0, 1], 4),
                         ('d.png', [], 5)]


def test_columns_classes_from_file(tmp_path):
    root, _ = _make(tmp_path, COLUMNS_CSV)
    class_file = _write(tmp_path / 'root' / 'classes.txt', 'trees\n\nsea\n')
    expected = [('a.jpg', [1], 2), ('b.jpg', [], 3), ('c.jpg', [0, 1], 4), ('d.png', [0], 5)]
    # relative to data_root, or absolute
    for classes in ('classes.txt', class_file):
        ds = MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                                  classes=classes)
        assert ds.metainfo['classes'] == ('trees', 'sea')
        assert _rows(ds) == expected


def test_csv_row_blank_lines_crlf_bom(tmp_path):
    root = tmp_path / 'root'
    _image(root / 'a.jpg', 10)
    _image(root / 'b.jpg', 20)
    text = 'image,sea,trees\r\n\r\na.jpg,1,0\r\n\r\n\r\nb.jpg,0,1\r\n'
    (root / 'labels.csv').write_bytes(text.encode('utf-8-sig'))
    ds = MultiLabelCsvDataset(ann_file='labels.csv', data_root=str(root))
    assert ds.metainfo['classes'] == ('sea', 'trees')
    # the header is line 1; blank lines are skipped but counted
    assert _rows(ds) == [('a.jpg', [0], 3), ('b.jpg', [1], 6)]
    assert ds.get_data_info(0)['img_path'] == osp.join(str(root), 'a.jpg')


# ------------------------------------------------------------------------- 'names' format
def _names_ds(root, **kwargs):
    return MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                                label_format='names', image_column='file', label_column='tags',
                                **kwargs)


def test_names_classes_found_sorted(tmp_path):
    root, _ = _make(tmp_path, NAMES_CSV)
    ds = _names_ds(root)
    assert ds.metainfo['classes'] == ('bird', 'cat', 'dog')
    # b.jpg has an empty cell: kept as all-negative; 'dog dog' counts once
    assert _rows(ds) == [('a.jpg', [1, 2], 2), ('b.jpg', [], 3), ('c.jpg', [0, 1], 4),
                         ('d.png', [2], 5)]
    assert ds.get_data_info(3)['img_path'] == osp.join(root, 'imgs', 'd.png')


def test_names_classes_from_list_and_file(tmp_path):
    root, _ = _make(tmp_path, NAMES_CSV)
    ds = _names_ds(root, classes=['dog', 'cat', 'bird'])
    assert ds.metainfo['classes'] == ('dog', 'cat', 'bird')
    assert _rows(ds) == [('a.jpg', [0, 1], 2), ('b.jpg', [], 3), ('c.jpg', [1, 2], 4),
                         ('d.png', [0], 5)]
    _write(tmp_path / 'root' / 'meta' / 'classes.txt', 'cat\ndog\n\nbird\n')
    ds = _names_ds(root, classes='meta/classes.txt')
    assert ds.metainfo['classes'] == ('cat', 'dog', 'bird')
    assert _rows(ds) == [('a.jpg', [0, 1], 2), ('b.jpg', [], 3), ('c.jpg', [0, 2], 4),
                         ('d.png', [1], 5)]


def test_names_vocabulary_drops_other_names(tmp_path):
    root, _ = _make(tmp_path, NAMES_CSV)
    vocabulary_file = _write(tmp_path / 'root' / 'vocabulary.txt', 'fish\nbird\ncat\ndog\n')
    expected = [('a.jpg', [0, 1], 2), ('b.jpg', [], 3), ('c.jpg', [1], 4), ('d.png', [0], 5)]
    for vocabulary in (['bird', 'cat', 'dog', 'fish'], 'vocabulary.txt', vocabulary_file):
        ds = _names_ds(root, classes=['dog', 'cat'], vocabulary=vocabulary)
        assert ds.metainfo['classes'] == ('dog', 'cat')
        assert _rows(ds) == expected


def test_names_custom_delimiter(tmp_path):
    text = ('image,labels\n'
            'a.jpg,red car;blue sky\n'
            'b.jpg, blue sky ; tree \n'
            'c.jpg,\n')
    root, _ = _make(tmp_path, text, IMAGES[:3], prefix='')
    ds = MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, label_format='names',
                              label_delimiter=';')
    assert ds.metainfo['classes'] == ('blue sky', 'red car', 'tree')
    assert _rows(ds) == [('a.jpg', [0, 1], 2), ('b.jpg', [0, 2], 3), ('c.jpg', [], 4)]
    # the default splits on whitespace, so the same cells give other names
    ds = MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, label_format='names')
    assert ds.metainfo['classes'] == (';', 'blue', 'car;blue', 'red', 'sky', 'tree')
    assert _rows(ds) == [('a.jpg', [2, 3, 4], 2), ('b.jpg', [0, 1, 4, 5], 3), ('c.jpg', [], 4)]


# ------------------------------------------------------------------- pipeline and registry
def test_pipeline_gives_data_samples(tmp_path):
    root, _ = _make(tmp_path, COLUMNS_CSV)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                                  ignore_columns=['id'], pipeline=PIPELINE)
        expected = [[0], [], [0, 1, 2], [1]]
        for idx, image in enumerate(IMAGES):
            out = ds[idx]
            sample = out['data_samples']
            assert isinstance(sample, DataSample)
            assert sample.gt_label.tolist() == expected[idx]
            assert sample.img_path == osp.join(root, 'imgs', image)
            assert tuple(out['inputs'].shape) == (3, 8, 8)
            # the grey level written for this very image (JPEG is lossy by a level or two)
            assert abs(out['inputs'].float().mean().item() - (40 * idx + 20)) < 3


def test_build_from_registry(tmp_path):
    root, _ = _make(tmp_path, NAMES_CSV)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = DATASETS.build({
            'type': 'MultiLabelCsvDataset',
            'ann_file': 'labels.csv',
            'data_root': root,
            'data_prefix': {'img_path': 'imgs'},
            'label_format': 'names',
            'image_column': 'file',
            'label_column': 'tags',
            'classes': ['dog', 'cat', 'bird'],
            'pipeline': PIPELINE,
        })
        assert isinstance(ds, MultiLabelCsvDataset)
        assert len(ds) == 4
        assert ds.metainfo['classes'] == ('dog', 'cat', 'bird')
        assert ds[0]['data_samples'].gt_label.tolist() == [0, 1]
        assert ds[1]['data_samples'].gt_label.tolist() == []
        assert ds[2]['data_samples'].gt_label.tolist() == [1, 2]
        assert ds[2]['data_samples'].img_path == osp.join(root, 'imgs', 'c.jpg')


def test_lazy_init(tmp_path):
    root, _ = _make(tmp_path, COLUMNS_CSV)
    ds = MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                              classes=['trees'], lazy_init=True)
    assert ds.num_classes == 1  # loads on demand
    assert len(ds) == 4
    assert [ds.get_data_info(i)['gt_label'] for i in range(4)] == [[], [], [0], [0]]


# ---------------------------------------------------------------------------- row selection
def test_split_file_order(tmp_path):
    root, _ = _many(tmp_path)
    split = _write(tmp_path / 'root' / 'splits' / 'some.txt',
                   'i06.jpg\n\ni03.jpg\n   \ni12.jpg\n\n')
    expected = [('i06.jpg', [1], 8), ('i03.jpg', [0, 1], 5), ('i12.jpg', [], 14)]
    for split_file in ('splits/some.txt', split):
        ds = MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                                  split_file=split_file)
        assert ds.metainfo['classes'] == ('a', 'b')
        assert _rows(ds) == expected
    # without a split file: every row, in CSV order
    ds = MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs')
    assert _rows(ds) == [(f'i{k:02d}.jpg', _label(k), k + 2) for k in range(20)]


# serialize_data=False in the selection tests below: mmengine's serialisation runs a full
# garbage collection (~0.2 s a build) and has nothing to do with which rows are kept
def _carve(root, subset, seed, **kwargs):
    return MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                                split_file='split.txt', subset=subset, val_fraction=0.25,
                                val_seed=seed, serialize_data=False, **kwargs)


def test_val_carve_out(tmp_path):
    root, _ = _many(tmp_path)
    order = [f'i{(7 * k + 3) % 20:02d}.jpg' for k in range(20)]  # a permutation of the rows
    _write(tmp_path / 'root' / 'split.txt', '\n'.join(order) + '\n')
    train, val = _names(_carve(root, 'train', 3)), _names(_carve(root, 'val', 3))
    assert len(train) == 15
    assert len(val) == 5
    assert not set(train) & set(val)
    assert set(train) | set(val) == set(order)
    # both parts keep the split file's order
    assert train == [name for name in order if name in set(train)]
    assert val == [name for name in order if name in set(val)]
    # the same carve-out as the plugin's other data sets for this seed
    train_idx, val_idx = val_split_indices(20, 0.25, 3)
    assert train == [order[i] for i in train_idx]
    assert val == [order[i] for i in val_idx]
    # deterministic for a seed, another seed gives another part
    assert _names(_carve(root, 'val', 3)) == val
    other = _names(_carve(root, 'val', 4))
    assert len(other) == 5
    assert set(other) != set(val)
    # labels follow the rows
    ds = _carve(root, 'val', 3)
    for idx, name in enumerate(val):
        assert ds.get_data_info(idx)['gt_label'] == _label(int(name[1:3]))
    # subset='all' ignores val_fraction
    assert _names(_carve(root, 'all', 3)) == order


def _fraction(root, fraction, seed=0, **kwargs):
    return _names(MultiLabelCsvDataset(ann_file='labels.csv', data_root=root,
                                       data_prefix='imgs', label_fraction=fraction,
                                       label_seed=seed, serialize_data=False, **kwargs))


def test_label_fraction(tmp_path):
    root, _ = _many(tmp_path)
    every = [f'i{k:02d}.jpg' for k in range(20)]
    subsets = {}
    for fraction, size in ((0.01, 1), (0.1, 2), (0.33, 7), (0.5, 10), (1.0, 20)):
        subsets[fraction] = _fraction(root, fraction)
        assert len(subsets[fraction]) == size == max(1, round(fraction * 20))
        assert len(set(subsets[fraction])) == size
        assert subsets[fraction] == [name for name in every if name in subsets[fraction]]
    assert subsets[1.0] == every
    # nested for the same seed
    assert set(subsets[0.01]) <= set(subsets[0.1]) <= set(subsets[0.33]) <= set(subsets[0.5])
    # deterministic for a seed, another seed gives another subset
    assert _fraction(root, 0.5) == subsets[0.5]
    assert _fraction(root, 0.1) == subsets[0.1]
    other = _fraction(root, 0.5, seed=1)
    assert len(other) == 10
    assert set(other) != set(subsets[0.5])
    assert set(_fraction(root, 0.1, seed=1)) <= set(other)


def test_label_fraction_of_split_and_carve_out(tmp_path):
    root, _ = _many(tmp_path)
    order = [f'i{(7 * k + 3) % 20:02d}.jpg' for k in range(20)]
    _write(tmp_path / 'root' / 'split.txt', '\n'.join(order) + '\n')
    train = _names(_carve(root, 'train', 3))
    part = _names(_carve(root, 'train', 3, label_fraction=0.4, label_seed=5))
    assert len(part) == 6  # round(0.4 * 15)
    assert part == [name for name in train if name in set(part)]  # split order kept
    small = _names(_carve(root, 'train', 3, label_fraction=0.2, label_seed=5))
    assert len(small) == 3
    assert set(small) <= set(part)


# ------------------------------------------------------------------------------- bad input
def test_unknown_class_name(tmp_path):
    root, csv_path = _make(tmp_path, NAMES_CSV)
    with pytest.raises(ValueError, match=_msg(csv_path, "'bird'", line=4)):
        _names_ds(root, classes=['dog', 'cat'])
    with pytest.raises(ValueError, match=_msg(csv_path, "'bird'", 'vocabulary', line=4)):
        _names_ds(root, classes=['dog', 'cat'], vocabulary=['dog', 'cat', 'fish'])


def test_unknown_class_name_without_classes(tmp_path):
    # classes=None with a vocabulary: a name outside the vocabulary is a bad row like any other
    text = 'image,labels\na.jpg,dog\nb.jpg,dgo cat\n'
    root, csv_path = _make(tmp_path, text, IMAGES[:2])
    with pytest.raises(ValueError, match=_msg(csv_path, "'dgo'", line=3)):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                             label_format='names', vocabulary=['cat', 'dog'])


def test_missing_image(tmp_path):
    root, csv_path = _make(tmp_path, COLUMNS_CSV, IMAGES[:3])
    with pytest.raises(FileNotFoundError, match=_msg(csv_path, "'d.png'", line=5)):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                             ignore_columns=['id'])
    ds = MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                              ignore_columns=['id'], check_images=False)
    assert _rows(ds)[3] == ('d.png', [1], 5)


def test_split_errors(tmp_path):
    root, csv_path = _make(tmp_path, COLUMNS_CSV)
    kwargs = {'ann_file': 'labels.csv', 'data_root': root, 'data_prefix': 'imgs',
              'ignore_columns': ['id']}
    split = tmp_path / 'root' / 'split.txt'
    _write(split, '\n   \n\n')
    with pytest.raises(ValueError, match=_msg(str(split), 'empty')):
        MultiLabelCsvDataset(split_file='split.txt', **kwargs)
    _write(split, 'a.jpg\nzz.jpg\n')
    with pytest.raises(ValueError, match=_msg(str(split), "'zz.jpg'", csv_path, line=2)):
        MultiLabelCsvDataset(split_file='split.txt', **kwargs)
    _write(split, 'a.jpg\nb.jpg\n\na.jpg\n')
    with pytest.raises(ValueError, match=_msg(str(split), "'a.jpg'", line=4)):
        MultiLabelCsvDataset(split_file='split.txt', **kwargs)
    missing = osp.join(root, 'nope.txt')
    with pytest.raises(FileNotFoundError, match=_msg(missing)):
        MultiLabelCsvDataset(split_file='nope.txt', **kwargs)


def test_duplicate_csv_rows(tmp_path):
    root, csv_path = _make(tmp_path, 'image,sea\na.jpg,1\nb.jpg,0\na.jpg,0\n', IMAGES[:2])
    with pytest.raises(ValueError, match=_msg(csv_path, "'a.jpg'", 'line 2', line=4)):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs')


def test_path_escaping_data_root(tmp_path):
    outside = tmp_path / 'x.jpg'
    _image(outside, 5)
    root, csv_path = _make(tmp_path, 'image,sea\na.jpg,1\n../x.jpg,0\n', IMAGES[:1], prefix='')
    with pytest.raises(ValueError, match=_msg(csv_path, "'../x.jpg'", line=3)):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root)
    _write(tmp_path / 'root' / 'labels.csv', f'image,sea\n{outside},1\na.jpg,0\n')
    with pytest.raises(ValueError, match=_msg(csv_path, repr(str(outside)), line=2)):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root)
    # through a data_prefix: two levels up leave data_root
    root, csv_path = _make(tmp_path, 'image,sea\na.jpg,1\n../../x.jpg,0\n', IMAGES[:1])
    with pytest.raises(ValueError, match=_msg(csv_path, "'../../x.jpg'", line=3)):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs')


@pytest.mark.parametrize('value', ['2', 'yes', '0.5', '', '-1'])
def test_bad_label_value(tmp_path, value):
    text = COLUMNS_CSV.replace('b.jpg,0,0,18,0', f'b.jpg,0,{value},18,0')
    root, csv_path = _make(tmp_path, text)
    with pytest.raises(ValueError, match=_msg(csv_path, "'trees'", repr(value), line=3)):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                             ignore_columns=['id'])


@pytest.mark.parametrize(
    ('label_format', 'old', 'new', 'line', 'fields'),
    [
        pytest.param('columns', 'c.jpg,1,1,19,1', 'c.jpg,1,1', 4, 3, id='columns-too-few'),
        pytest.param('columns', 'b.jpg,0,0,18,0', 'b.jpg,0,0,18,0,1', 3, 6,
                     id='columns-too-many'),
        pytest.param('names', 'c.jpg,  cat   bird ,z', 'c.jpg,cat', 4, 2, id='names-too-few'),
        pytest.param('names', 'b.jpg,,y', 'b.jpg,,y,1,2', 3, 5, id='names-too-many'),
    ])
def test_wrong_number_of_fields(tmp_path, label_format, old, new, line, fields):
    text = COLUMNS_CSV if label_format == 'columns' else NAMES_CSV
    root, csv_path = _make(tmp_path, text.replace(old, new))
    kwargs = ({'ignore_columns': ['id']} if label_format == 'columns' else
              {'label_format': 'names', 'image_column': 'file', 'label_column': 'tags'})
    with pytest.raises(ValueError, match=_msg(csv_path, f'{fields} fields', line=line)):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                             **kwargs)


def test_header_errors(tmp_path):
    root, csv_path = _make(tmp_path, COLUMNS_CSV)
    with pytest.raises(ValueError, match=_msg(csv_path, "'filename'", 'header')):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                             image_column='filename', classes=['sea'])
    with pytest.raises(ValueError, match=_msg(csv_path, "'sky'", 'header')):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                             classes=['sea', 'sky'])
    with pytest.raises(ValueError, match=_msg(csv_path, "'labels'", 'header')):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                             label_format='names')


def test_duplicate_header_column(tmp_path):
    # two 'sea' columns: the classes would hold 'sea' twice and both read the first column
    text = 'image,sea,trees,sea\na.jpg,1,0,0\nb.jpg,0,1,1\n'
    root, csv_path = _make(tmp_path, text, IMAGES[:2])
    with pytest.raises(ValueError, match=_msg(csv_path, "'sea'", 'header')):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs')


def test_duplicate_name_in_class_file(tmp_path):
    root, _ = _make(tmp_path, COLUMNS_CSV)
    class_file = _write(tmp_path / 'root' / 'classes.txt', 'sea\ntrees\n\nsea\n')
    with pytest.raises(ValueError, match=_msg(class_file, "'sea'", line=4)):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                             classes='classes.txt')


def test_class_list_errors(tmp_path):
    root, _ = _make(tmp_path, COLUMNS_CSV)
    with pytest.raises(ValueError, match=_msg("'sea'", 'class list')):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                             classes=['sea', 'trees', 'sea'])
    with pytest.raises(FileNotFoundError, match=_msg(osp.join(root, 'nope.txt'))):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                             classes='nope.txt')


def test_missing_csv(tmp_path):
    root = tmp_path / 'root'
    root.mkdir()
    with pytest.raises(FileNotFoundError, match=_msg(osp.join(str(root), 'nope.csv'))):
        MultiLabelCsvDataset(ann_file='nope.csv', data_root=str(root))


@pytest.mark.parametrize(
    ('kwargs', 'literals', 'ending'),
    [
        pytest.param({'label_format': 'tags'}, ['label_format', "'tags'"], None,
                     id='label_format'),
        pytest.param({'subset': 'test'}, ['subset', "'test'"], None, id='subset'),
        pytest.param({'subset': 'val'}, ["'val'", 'val_fraction'], None, id='val-no-fraction'),
        pytest.param({'subset': 'train', 'val_fraction': 1.0}, ["'train'", 'val_fraction'],
                     None, id='train-fraction-1'),
        pytest.param({'label_fraction': 0}, ['label_fraction'], '0', id='label_fraction-0'),
        pytest.param({'label_fraction': 1.5}, ['label_fraction'], '1.5',
                     id='label_fraction-1.5'),
    ])
def test_bad_settings(tmp_path, kwargs, literals, ending):
    root, _ = _make(tmp_path, COLUMNS_CSV)
    pattern = _msg(*literals) + (rf'.*\b{re.escape(ending)}$' if ending else '')
    with pytest.raises(ValueError, match=pattern):
        MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, data_prefix='imgs',
                             ignore_columns=['id'], **kwargs)


# -------------------------------------------------------------------------------- real data
def _read_csv(path):
    with open(path, newline='', encoding='utf-8') as f:
        return list(csv.DictReader(f))


def _read_lines(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


@pytest.fixture(scope='module')
def peta(shared_data):
    root = osp.join(shared_data, 'peta')
    sets = {
        split: MultiLabelCsvDataset(
            ann_file='annotations.csv', data_root=root, label_format='names',
            label_column='attributes', classes='attributes_35.txt',
            vocabulary='attributes_all.txt', split_file=f'splits/random_{split}.txt',
            check_images=True)
        for split in ('train', 'val', 'test')
    }
    return root, sets


@pytest.fixture(scope='module')
def miml(shared_data):
    return osp.join(shared_data, 'miml_scene')


def _miml(root, split, **kwargs):
    return MultiLabelCsvDataset(ann_file='labels.csv', data_root=root, image_column='Filenames',
                                data_prefix='images/', split_file=f'splits/{split}.txt',
                                check_images=True, **kwargs)


def test_peta_random_split(peta):
    root, sets = peta
    classes = _read_lines(osp.join(root, 'attributes_35.txt'))
    assert len(classes) == 35
    assert {split: len(ds) for split, ds in sets.items()} == {
        'train': 9500, 'val': 1900, 'test': 7600}
    images = {}
    for split, ds in sets.items():
        assert ds.metainfo['classes'] == tuple(classes)
        images[split] = [osp.relpath(ds.get_data_info(i)['img_path'], root)
                         for i in range(len(ds))]
        assert images[split] == _read_lines(osp.join(root, 'splits', f'random_{split}.txt'))
    assert not set(images['train']) & set(images['val'])
    assert not set(images['train']) & set(images['test'])
    assert not set(images['val']) & set(images['test'])


def test_peta_labels(peta):
    root, sets = peta
    ds = sets['train']
    rows = {row['image']: row['attributes'].split()
            for row in _read_csv(osp.join(root, 'annotations.csv'))}
    classes = ds.metainfo['classes']
    sizes = []
    for idx in range(len(ds)):
        info = ds.get_data_info(idx)
        names = set(rows[osp.relpath(info['img_path'], root)]) & set(classes)
        assert info['gt_label'] == sorted(classes.index(n) for n in names)
        sizes.append(len(info['gt_label']))
    assert 8.0 < np.mean(sizes) < 8.8


def test_miml_scene(miml):
    rows = {row['Filenames']: row for row in _read_csv(osp.join(miml, 'labels.csv'))}
    classes = ('desert', 'mountains', 'sea', 'sunset', 'trees')
    images = {}
    for split, size in (('train', 1600), ('test', 400)):
        ds = _miml(miml, split)
        assert len(ds) == size
        assert ds.metainfo['classes'] == classes
        images[split] = []
        for idx in range(len(ds)):
            info = ds.get_data_info(idx)
            name = osp.basename(info['img_path'])
            assert info['img_path'] == osp.join(miml, 'images', name)
            assert info['gt_label'] == [c for c, cls in enumerate(classes)
                                        if rows[name][cls] == '1']
            images[split].append(name)
        assert images[split] == _read_lines(osp.join(miml, 'splits', f'{split}.txt'))
    assert not set(images['train']) & set(images['test'])


def test_miml_scene_carve_out(miml):
    val = _names(_miml(miml, 'train', subset='val', val_fraction=0.2))
    train = _names(_miml(miml, 'train', subset='train', val_fraction=0.2))
    assert len(val) == 320
    assert len(train) == 1280
    assert not set(train) & set(val)
    assert set(train) | set(val) == set(_read_lines(osp.join(miml, 'splits', 'train.txt')))
