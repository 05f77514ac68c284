# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Tests of :class:`mlcl_plugin.datasets.NUSWIDE` and :func:`read_binary_matrix`.

A miniature NUS-WIDE release is written under ``tmp_path`` in the official layout (four
concepts, eight real 8x8 JPEGs in two ``Flickr`` sub-folders, ``Imagelist.txt`` with the
release's ``C:\\ImageData\\Flickr\\`` prefix and CRLF line ends, ``TrainImagelist.txt`` /
``TestImagelist.txt``, ``Groundtruth/TrainTestLabels`` and ``Groundtruth/AllLabels`` and an
``AllLabels81.txt``-style matrix). Checked:

- the labels of every split and every label source against a plain-Python reference built
  from the table below, the drop of unlabelled images (and ``keep_empty``), class subsets,
  ``list_line`` and ``img_path``, loading a sample through a pipeline and via the registry;
- every bad input raises with the file, the line (and column) and the value in the message:
  missing files, unknown concept, label file length, non-0/1 value, duplicate image, empty
  split, blank line, path escaping ``data_root``, image missing on disk;
- :func:`read_binary_matrix` on CRLF / trailing blank lines, across chunk boundaries, and on
  a full-size 269,648 x 81 matrix (bounded chunks, same result as numpy's reference);
- ``configs/_base_/datasets/nus_wide.py`` loads and its datasets build on the fixture.
"""
import os
import os.path as osp
import re
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmpretrain.registry import DATASETS
from PIL import Image

import mlcl_plugin  # noqa: F401  (registers the datasets)
from mlcl_plugin.datasets import NUSWIDE, read_binary_matrix
from mlcl_plugin.datasets.nus_wide import normalise_image_entry

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONCEPTS = ('airport', 'animal', 'beach', 'sky')
# image (relative to Flickr/), split, labels over CONCEPTS; Imagelist.txt lists them in this
# order, the train / test lists keep their relative order
TABLE = (
    ('actor/0001_101.jpg', 'train', (1, 0, 0, 1)),
    ('actor/0002_102.jpg', 'test', (0, 1, 0, 0)),
    ('actor/0003_103.jpg', 'train', (0, 0, 0, 0)),  # no label: dropped by default
    ('beach/0001_201.jpg', 'train', (0, 1, 1, 1)),
    ('beach/0002_202.jpg', 'test', (1, 1, 1, 1)),
    ('beach/0003_203.jpg', 'train', (0, 0, 1, 0)),
    ('beach/0004_204.jpg', 'test', (0, 0, 0, 0)),  # no label
    ('actor/0004_104.jpg', 'train', (0, 0, 0, 1)),
)


def _ds(root, **kwargs):
    # mmengine's serialisation runs gc.collect(), slow in a full test process
    kwargs.setdefault('serialize_data', False)
    return NUSWIDE(data_root=root, **kwargs)


def _msg(*literals, line=None):
    """A regex that needs every literal (and ``line <line>`` when given), in any order."""
    parts = [re.escape(str(text)) for text in literals]
    if line is not None:
        parts.append(rf'line {line}\b')
    return '(?s)' + ''.join(f'(?=.*{part})' for part in parts)


def _write(path, text, newline='\n'):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace('\n', newline).encode())
    return str(path)


def _lines(values, newline='\n'):
    return newline.join(str(v) for v in values) + newline


def write_release(root):
    """Write the miniature release (the layout of the official files) under ``root``; return
    it as a string. Also used by the config tiny runs (tests/tiny_run.py)."""
    root = Path(root)
    for k, (name, _, _) in enumerate(TABLE):
        path = root / 'Flickr' / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8, 3), 30 * k, dtype=np.uint8)).save(str(path))
    _write(root / 'Concepts81.txt', ''.join(f'{c}\n' for c in CONCEPTS))
    lists = root / 'ImageList'
    _write(lists / 'Imagelist.txt',
           ''.join('C:\\ImageData\\Flickr\\' + n.replace('/', '\\') + '\n' for n, _, _ in TABLE),
           newline='\r\n')
    for split, file_split in (('train', 'Train'), ('test', 'Test')):
        rows = [(n, y) for n, s, y in TABLE if s == split]
        _write(lists / f'{file_split}Imagelist.txt',
               ''.join(n.replace('/', '\\') + '\n' for n, _ in rows), newline='\r\n')
        for c, concept in enumerate(CONCEPTS):
            # a trailing space and a trailing blank line, as some release files have
            _write(root / 'Groundtruth' / 'TrainTestLabels' / f'Labels_{concept}_{file_split}.txt',
                   ''.join(f'{y[c]} \n' for _, y in rows) + '\n')
    for c, concept in enumerate(CONCEPTS):
        _write(root / 'Groundtruth' / 'AllLabels' / f'Labels_{concept}.txt',
               _lines(y[c] for _, _, y in TABLE))
    _write(root / 'AllLabels81.txt', ''.join(' '.join(map(str, y)) + '\n' for _, _, y in TABLE))
    return str(root)


@pytest.fixture
def release(tmp_path):
    """The miniature release; returns its root."""
    return write_release(tmp_path / 'nus-wide')


def _reference(split, classes=CONCEPTS, keep_empty=False):
    """(image, sorted label names, list line) by plain Python from TABLE."""
    rows = [(n, y) for n, s, y in TABLE if split in (s, 'all')]
    out = []
    for line, (name, y) in enumerate(rows, start=1):
        names = [c for c in classes if y[CONCEPTS.index(c)]]
        if names or keep_empty:
            out.append((name, names, line))
    return out


def _samples(ds, root):
    out = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        rel = osp.relpath(info['img_path'], osp.join(root, 'Flickr')).replace(osp.sep, '/')
        out.append((rel, [ds.CLASSES[k] for k in info['gt_label']], info['list_line']))
    return out


# ------------------------------------------------------------------------------ labels
@pytest.mark.parametrize('split', ['train', 'test'])
def test_train_test_labels_match_reference(release, split):
    ds = _ds(release, split=split)
    assert ds.metainfo['classes'] == CONCEPTS
    assert ds.num_classes == 4
    assert _samples(ds, release) == _reference(split)
    assert ds.num_images_total == sum(s == split for _, s, _ in TABLE)
    assert ds.num_dropped == 1
    for i in range(len(ds)):
        assert ds.get_data_info(i)['gt_label'] == sorted(ds.get_data_info(i)['gt_label'])
        assert osp.isfile(ds.get_data_info(i)['img_path'])


@pytest.mark.parametrize('source', ['all_labels', 'matrix'])
@pytest.mark.parametrize('split', ['train', 'test', 'all'])
def test_all_label_sources_agree(release, source, split):
    ds = _ds(release, split=split, label_source=source)
    assert _samples(ds, release) == _reference(split)


def test_keep_empty_and_class_subset(release):
    ds = _ds(release, split='train', keep_empty=True)
    assert _samples(ds, release) == _reference('train', keep_empty=True)
    assert ds.num_dropped == 0
    assert [ds.get_data_info(i)['gt_label'] for i in range(len(ds))][1] == []
    # a subset in a new order: only those label files are read, other images drop out
    for source in ('train_test', 'all_labels', 'matrix'):
        ds = _ds(release, split='train', label_source=source,
                 metainfo=dict(classes=['sky', 'airport']))
        assert ds.metainfo['classes'] == ('sky', 'airport')
        assert _samples(ds, release) == _reference('train', classes=('sky', 'airport'))


def test_pipeline_registry_and_entries(release):
    cfg = dict(type='NUSWIDE', data_root=release, split='test',
               pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')])
    ds = DATASETS.build(cfg)
    sample = ds[0]
    assert tuple(sample['inputs'].shape) == (3, 8, 8)
    assert sample['data_samples'].gt_label.tolist() == [1]
    assert 'Label source' in repr(ds)
    assert normalise_image_entry('C:\\ImageData\\Flickr\\actor\\0001_2124494179.jpg') == \
        'actor/0001_2124494179.jpg'
    assert normalise_image_entry(' actor\\0001_2124494179.jpg\r') == \
        'actor/0001_2124494179.jpg'
    lazy = NUSWIDE(data_root=release, lazy_init=True)
    assert lazy.num_classes == 4


# -------------------------------------------------------------------------- bad input
def test_missing_files(release, tmp_path):
    label = osp.join(release, 'Groundtruth', 'TrainTestLabels', 'Labels_beach_Train.txt')
    with pytest.raises(FileNotFoundError, match=_msg('Concepts81.txt', 'concept list')):
        _ds(release, concepts_file='missing/Concepts81.txt')
    with pytest.raises(FileNotFoundError, match=_msg('image list', 'Nope.txt')):
        _ds(release, ann_file='ImageList/Nope.txt')
    os.remove(label)
    with pytest.raises(FileNotFoundError, match=_msg(label, "concept 'beach'")):
        _ds(release)
    with pytest.raises(FileNotFoundError, match=_msg('AllLabels81.txt', 'label matrix')):
        _ds(str(tmp_path / 'nowhere'), label_source='matrix', check_images=False,
            concepts_file=osp.join(release, 'Concepts81.txt'),
            ann_file=osp.join(release, 'ImageList', 'TrainImagelist.txt'),
            all_image_list=osp.join(release, 'ImageList', 'Imagelist.txt'))


def test_unknown_and_duplicate_concepts(release):
    concepts = osp.join(release, 'Concepts81.txt')
    with pytest.raises(ValueError, match=_msg("'cloud'", concepts, 'not a concept')):
        _ds(release, metainfo=dict(classes=['sky', 'cloud']))
    with pytest.raises(ValueError, match=_msg("'sky'", 'twice')):
        _ds(release, metainfo=dict(classes=['sky', 'sky']))
    _write(Path(concepts), 'airport\nanimal\nairport\n')
    with pytest.raises(ValueError, match=_msg(concepts, "'airport'", 'twice', line=3)):
        _ds(release)


def _label_path(release, concept='animal', split='Train'):
    return Path(release, 'Groundtruth', 'TrainTestLabels', f'Labels_{concept}_{split}.txt')


def test_label_file_length_mismatch(release):
    path = _write(_label_path(release), '0\n1\n0\n')
    with pytest.raises(ValueError, match=_msg(path, '3 label lines', 'TrainImagelist.txt',
                                              '5 images')):
        _ds(release)
    matrix = _write(Path(release) / 'AllLabels81.txt', '0 0 0 1\n')
    with pytest.raises(ValueError, match=_msg(matrix, '1 label lines', 'Imagelist.txt',
                                              '8 images')):
        _ds(release, label_source='matrix')


def test_non_binary_values(release):
    path = _write(_label_path(release), '0\n1\n2\n0\n1\n')
    with pytest.raises(ValueError, match=_msg(path, "value '2'", 'not 0 or 1', line=3)):
        _ds(release)
    path = _write(_label_path(release), '0\n1\n0\n0.5\n1\n')
    with pytest.raises(ValueError, match=_msg(path, "value '0.5'", line=4)):
        _ds(release)
    path = _write(_label_path(release), '0\n1\n0\n1 0\n1\n')
    with pytest.raises(ValueError, match=_msg(path, '2 values, expected 1', line=4)):
        _ds(release)
    path = _write(_label_path(release), '0\n1\n\n0\n1\n1\n')
    with pytest.raises(ValueError, match=_msg(path, 'blank line', line=3)):
        _ds(release)
    rows = [' '.join(map(str, y)) for _, _, y in TABLE]
    rows[5] = '0 0 x 1'
    matrix = _write(Path(release) / 'AllLabels81.txt', _lines(rows))
    with pytest.raises(ValueError, match=_msg(matrix, "value 'x'", 'column 3', line=6)):
        _ds(release, label_source='matrix')
    rows[5] = '0 0 1'
    matrix = _write(Path(release) / 'AllLabels81.txt', _lines(rows))
    with pytest.raises(ValueError, match=_msg(matrix, '3 values, expected 4', line=6)):
        _ds(release, label_source='matrix')


def test_duplicate_and_empty_split(release):
    lists = Path(release) / 'ImageList'
    path = _write(lists / 'TrainImagelist.txt',
                  'actor\\0001_101.jpg\nactor\\0003_103.jpg\nactor\\0001_101.jpg\n')
    with pytest.raises(ValueError, match=_msg(path, "'actor\\\\0001_101.jpg'", 'twice',
                                              'first at line 1', line=3)):
        _ds(release)
    path = _write(lists / 'TrainImagelist.txt', '\n\n')
    with pytest.raises(ValueError, match=_msg('empty split', path)):
        _ds(release)
    path = _write(lists / 'TrainImagelist.txt', 'actor\\0001_101.jpg\n\nactor\\0003_103.jpg\n')
    with pytest.raises(ValueError, match=_msg(path, 'blank line', line=2)):
        _ds(release)
    # only unlabelled images: nothing left
    path = _write(lists / 'TestImagelist.txt', 'beach\\0004_204.jpg\n')
    for concept in CONCEPTS:
        _write(_label_path(release, concept, 'Test'), '0\n')
    with pytest.raises(ValueError, match=_msg('empty split', path, 'keep_empty=True')):
        _ds(release, split='test')
    assert len(_ds(release, split='test', keep_empty=True)) == 1


def test_split_image_not_in_full_list(release):
    lists = Path(release) / 'ImageList'
    path = _write(lists / 'TestImagelist.txt', 'actor\\0002_102.jpg\nactor\\0009_109.jpg\n')
    with pytest.raises(ValueError, match=_msg(path, "'actor/0009_109.jpg'", 'Imagelist.txt',
                                              line=2)):
        _ds(release, split='test', label_source='all_labels')


def test_path_escape_and_missing_image(release):
    lists = Path(release) / 'ImageList'
    path = _write(lists / 'TestImagelist.txt', 'actor\\0002_102.jpg\n..\\..\\..\\secret.jpg\n')
    for concept in CONCEPTS:
        _write(_label_path(release, concept, 'Test'), '1\n1\n')
    with pytest.raises(ValueError, match=_msg(path, "'../../../secret.jpg'", 'outside data_root',
                                              line=2)):
        _ds(release, split='test', check_images=False)
    path = _write(lists / 'TestImagelist.txt', 'actor\\0002_102.jpg\nactor\\0077_177.jpg\n')
    with pytest.raises(FileNotFoundError, match=_msg(path, "'actor/0077_177.jpg'", 'not found',
                                                     line=2)):
        _ds(release, split='test')
    assert len(_ds(release, split='test', check_images=False)) == 2
    with pytest.raises(ValueError, match='needs label_source'):
        _ds(release, split='all')
    with pytest.raises(ValueError, match='split must be one of'):
        _ds(release, split='val')
    with pytest.raises(ValueError, match='label_source must be one of'):
        _ds(release, label_source='tags')


def test_validation_carve_out(release):
    """subset='train' / 'val' split the kept training images with val_split_indices, in
    image-list order, disjoint and complete; the test split is untouched."""
    from mlcl_plugin.datasets import val_split_indices

    full = _samples(_ds(release, split='train'), release)
    parts = {part: _samples(_ds(release, split='train', subset=part, val_fraction=0.4,
                                val_seed=3), release) for part in ('train', 'val')}
    train_idx, val_idx = val_split_indices(len(full), 0.4, 3)
    assert parts['train'] == [full[i] for i in train_idx]
    assert parts['val'] == [full[i] for i in val_idx]
    assert len(parts['val']) == round(0.4 * len(full)) > 0
    assert sorted(parts['train'] + parts['val']) == sorted(full)
    assert _samples(_ds(release, split='test', subset='all'), release) == _samples(
        _ds(release, split='test'), release)


def test_validation_carve_out_errors(release):
    with pytest.raises(ValueError, match=_msg('subset must be one of', "'dev'")):
        _ds(release, subset='dev', val_fraction=0.1)
    with pytest.raises(ValueError, match=_msg('needs 0 < val_fraction < 1', "'val'")):
        _ds(release, subset='val')
    # 4 kept training images: a fraction that rounds to all of them leaves no training part
    with pytest.raises(ValueError, match=_msg('TrainImagelist.txt', 'empty split')):
        _ds(release, subset='train', val_fraction=0.95)


def test_subset_indices_checked(release):
    assert len(_ds(release, indices=[1, 0])) == 2
    with pytest.raises(ValueError, match=_msg('TrainImagelist.txt', 'indices[0] = -1')):
        _ds(release, indices=[-1])


# -------------------------------------------------------------------- read_binary_matrix
def test_read_binary_matrix_formats_and_chunks(tmp_path):
    rng = np.random.default_rng(0)
    matrix = rng.integers(0, 2, (200, 5), dtype=np.uint8)
    text = ''.join(' '.join(map(str, row)) + ' \r\n' for row in matrix) + '\r\n\n'
    path = _write(tmp_path / 'm.txt', text)
    for chunk in (7, 64, 1000, 1 << 22):  # chunk boundaries inside and between lines
        np.testing.assert_array_equal(read_binary_matrix(path, 5, chunk_bytes=chunk), matrix)
    column = _write(tmp_path / 'c.txt', '1\n0\n1')  # no final newline
    np.testing.assert_array_equal(read_binary_matrix(column)[:, 0], [1, 0, 1])
    empty = _write(tmp_path / 'e.txt', '\n \n')
    with pytest.raises(ValueError, match=_msg(empty, 'holds no value')):
        read_binary_matrix(empty)
    # the error line is counted across chunks
    bad = _write(tmp_path / 'b.txt', '0\n' * 150 + '7\n')
    with pytest.raises(ValueError, match=_msg(bad, "value '7'", line=151)):
        read_binary_matrix(bad, chunk_bytes=16)
    blank = _write(tmp_path / 'k.txt', '0\n' * 20 + '\n' + '0\n' * 20)
    with pytest.raises(ValueError, match=_msg(blank, 'blank line', line=21)):
        read_binary_matrix(blank, chunk_bytes=8)


def test_read_binary_matrix_full_size(tmp_path):
    """269,648 x 81 as in NUS-WIDE's all-labels matrix: equal to the reference."""
    rng = np.random.default_rng(1)
    matrix = (rng.random((269648, 81)) < 0.05).astype(np.uint8)
    text = np.full((269648, 162), ord(' '), dtype=np.uint8)
    text[:, 0::2] = matrix + ord('0')
    text[:, -1] = ord('\n')
    path = tmp_path / 'AllLabels81.txt'
    path.write_bytes(text.tobytes())
    out = read_binary_matrix(str(path), 81)
    assert out.dtype == np.uint8
    assert out.shape == (269648, 81)
    np.testing.assert_array_equal(out, matrix)


# ----------------------------------------------------------------------------- config
def test_base_config_builds_on_fixture(release):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'nus_wide.py'))
    assert cfg.dataset_type == 'NUSWIDE'
    assert 'NUSWIDE' in DATASETS.module_dict
    assert cfg.data_preprocessor.num_classes == 81
    sizes = {}
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset_cfg = dict(cfg[name]['dataset'], data_root=release, serialize_data=False)
        ds = DATASETS.build(dataset_cfg)
        sizes[name] = len(ds)
        assert tuple(ds[0]['inputs'].shape) == (3, 224, 224)
    assert sizes == {'train_dataloader': 4, 'val_dataloader': 2, 'test_dataloader': 2}
