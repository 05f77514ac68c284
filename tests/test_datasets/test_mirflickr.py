# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Tests of :class:`mlcl_plugin.datasets.MIRFlickr25k` and :func:`mirflickr_split_indices`.

A miniature MIRFLICKR-25k is written under ``tmp_path`` in the official layout: 40 real 8x8
JPEGs ``mirflickr/im1.jpg`` ... ``im40.jpg`` and ``annotations/<label>.txt`` for the 24
potential labels plus ``<label>_r1.txt`` for the 14 relevant ones (1-based image numbers, one
per line; some files empty, CRLF in one). Checked:

- the labels against a plain-Python reference, for both label sets and a class subset;
- the seeded split: sizes ``floor(0.8 N)`` / rest, disjoint, covering the labelled images,
  reproducible for a seed and different for another, equal to
  :func:`mirflickr_split_indices`; the paper's 24,581 -> 19,664 / 4,917;
- the split file (``im17.jpg`` or ``17``, file order kept) and ``keep_empty``;
- every bad input raises with the file, the line and the value in the message;
- ``configs/_base_/datasets/mirflickr25k.py`` loads and its datasets build on the fixture.
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
from mlcl_plugin.datasets import MIRFlickr25k, mirflickr_split_indices
from mlcl_plugin.datasets.mirflickr import POTENTIAL_LABELS, RELEVANT_LABELS

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM = 40
UNLABELLED = {3, 17, 40}  # images without any potential label


def _ds(root, **kwargs):
    kwargs.setdefault('serialize_data', False)  # mmengine's gc.collect() is slow in a suite
    kwargs.setdefault('num_images', NUM)
    return MIRFlickr25k(data_root=root, **kwargs)


def _msg(*literals, line=None):
    """A regex that needs every literal (and ``line <line>`` when given), in any order."""
    parts = [re.escape(str(text)) for text in literals]
    if line is not None:
        parts.append(rf'line {line}\b')
    return '(?s)' + ''.join(f'(?=.*{part})' for part in parts)


def _write(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def _truth():
    """{label file stem: sorted image numbers}: a fixed random table, some files empty."""
    rng = np.random.default_rng(5)
    truth = {}
    for k, name in enumerate(POTENTIAL_LABELS):
        if k % 6 == 5:  # e.g. a label that no image of the miniature has
            truth[name] = []
            continue
        images = [n for n in range(1, NUM + 1) if n not in UNLABELLED and rng.random() < 0.3]
        truth[name] = images
        if name in RELEVANT_LABELS:
            truth[f'{name}_r1'] = [n for n in images if rng.random() < 0.5]
    for name in RELEVANT_LABELS:
        truth.setdefault(f'{name}_r1', [])
    # every image not in UNLABELLED has at least one potential label
    for n in range(1, NUM + 1):
        if n not in UNLABELLED and not any(n in truth[c] for c in POTENTIAL_LABELS):
            truth['sky'] = sorted(truth['sky'] + [n])
    return truth


TRUTH = _truth()


def write_collection(root):
    """Write the miniature collection (images im1..im40.jpg and the official annotation files)
    under ``root``; return it as a string. Also used by the config tiny runs
    (tests/tiny_run.py)."""
    root = Path(root)
    (root / 'mirflickr').mkdir(parents=True)
    for n in range(1, NUM + 1):
        Image.fromarray(np.full((8, 8, 3), 5 * n, dtype=np.uint8)).save(
            str(root / 'mirflickr' / f'im{n}.jpg'))
    for stem, images in TRUTH.items():
        text = ''.join(f'{n}\n' for n in images)
        if stem == 'dog':
            text = text.replace('\n', '\r\n') + '\r\n'
        _write(root / 'annotations' / f'{stem}.txt', text)
    _write(root / 'annotations' / 'README.txt', 'not a label file\n')
    return str(root)


@pytest.fixture
def collection(tmp_path):
    return write_collection(tmp_path / 'mirflickr25k')


def _reference(classes=POTENTIAL_LABELS, suffix='', images=None, keep_empty=False):
    """{image number: sorted class indices} by plain Python."""
    out = {}
    for n in range(1, NUM + 1) if images is None else images:
        labels = [k for k, c in enumerate(classes) if n in TRUTH[f'{c}{suffix}']]
        if labels or keep_empty or images is not None:
            out[n] = labels
    return out


def _samples(ds):
    return {ds.get_data_info(i)['img_id']: ds.get_data_info(i)['gt_label']
            for i in range(len(ds))}


# ------------------------------------------------------------------------------ labels
def test_all_labels_match_reference(collection):
    ds = _ds(collection, split='all')
    assert ds.metainfo['classes'] == POTENTIAL_LABELS
    assert ds.num_classes == 24
    assert _samples(ds) == _reference()
    assert len(ds) == NUM - len(UNLABELLED) == ds.num_labelled
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == \
        sorted(set(range(1, NUM + 1)) - UNLABELLED)
    info = ds.get_data_info(0)
    assert info['img_path'] == osp.join(collection, 'mirflickr', 'im1.jpg')


def test_relevant_set_subset_and_keep_empty(collection):
    ds = _ds(collection, split='all', label_set='relevant')
    assert ds.metainfo['classes'] == RELEVANT_LABELS
    assert _samples(ds) == _reference(RELEVANT_LABELS, '_r1')
    ds = _ds(collection, split='all', metainfo=dict(classes=['water', 'animals', 'sky']))
    assert ds.metainfo['classes'] == ('water', 'animals', 'sky')
    assert _samples(ds) == _reference(('water', 'animals', 'sky'))
    ds = _ds(collection, split='all', keep_empty=True)
    assert len(ds) == NUM
    assert _samples(ds) == _reference(keep_empty=True)
    assert all(_samples(ds)[n] == [] for n in UNLABELLED)


# ------------------------------------------------------------------------------ splits
def test_seeded_split_sizes_disjoint_reproducible(collection):
    labelled = sorted(set(range(1, NUM + 1)) - UNLABELLED)
    n = len(labelled)
    train = _ds(collection, split='train')
    test = _ds(collection, split='test')
    ids_train, ids_test = set(_samples(train)), set(_samples(test))
    assert len(train) == int(np.floor(0.8 * n)) == 29
    assert len(test) == n - 29 == 8
    assert not ids_train & ids_test
    assert ids_train | ids_test == set(labelled)
    assert _samples(train) == _reference(images=sorted(ids_train))
    pos_train, pos_test = mirflickr_split_indices(n, 0.8, 0)
    assert sorted(ids_train) == [labelled[i] for i in pos_train]
    assert sorted(ids_test) == [labelled[i] for i in pos_test]
    # same seed: same split; another seed: another split; another fraction: other sizes
    assert set(_samples(_ds(collection, split='train'))) == ids_train
    other = set(_samples(_ds(collection, split='train', split_seed=1)))
    assert other != ids_train
    assert len(other) == 29
    assert len(_ds(collection, split='test', train_fraction=0.5)) == n - n // 2


def test_validation_carve_out(collection):
    """subset='train' / 'val' carve a seeded part out of the chosen split with
    val_split_indices (split order kept, disjoint, complete); the test split is untouched."""
    from mlcl_plugin.datasets import val_split_indices

    full = _samples(_ds(collection, split='train'))
    parts = {part: _samples(_ds(collection, split='train', subset=part, val_fraction=0.25,
                                val_seed=1)) for part in ('train', 'val')}
    ids = list(full)  # image numbers in the split's order
    train_idx, val_idx = val_split_indices(len(ids), 0.25, 1)
    assert list(parts['train'].items()) == [(ids[i], full[ids[i]]) for i in train_idx]
    assert list(parts['val'].items()) == [(ids[i], full[ids[i]]) for i in val_idx]
    assert len(parts['val']) == round(0.25 * len(ids)) > 0
    assert sorted(list(parts['train']) + list(parts['val'])) == sorted(ids)
    assert _samples(_ds(collection, split='test', subset='all')) == _samples(
        _ds(collection, split='test'))
    with pytest.raises(ValueError, match=_msg('subset must be one of', "'dev'")):
        _ds(collection, subset='dev', val_fraction=0.1)
    with pytest.raises(ValueError, match=_msg('needs 0 < val_fraction < 1', "'train'")):
        _ds(collection, subset='train', val_fraction=1.5)
    with pytest.raises(ValueError, match=_msg('annotations', 'train split', 'empty split')):
        _ds(collection, subset='train', val_fraction=0.999)


def test_paper_split_sizes():
    train, test = mirflickr_split_indices(24581, 0.8, 0)
    assert (len(train), len(test)) == (19664, 4917)
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.union1d(train, test), np.arange(24581))
    assert np.array_equal(mirflickr_split_indices(24581, 0.8, 0)[0], train)
    assert not np.array_equal(mirflickr_split_indices(24581, 0.8, 1)[0], train)
    with pytest.raises(ValueError, match='train_fraction'):
        mirflickr_split_indices(10, 1.0)


def test_split_file(collection):
    path = _write(Path(collection) / 'splits' / 'mine.txt', 'im5.jpg\n\n2\nmirflickr/im9.jpg\n')
    ds = _ds(collection, split_file='splits/mine.txt')
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == [5, 2, 9]
    assert _samples(ds) == _reference(images=[5, 2, 9])
    assert 'split file' in repr(ds)
    # absolute path too
    assert len(_ds(collection, split_file=path)) == 3


def test_registry_pipeline_and_lazy(collection):
    ds = DATASETS.build(dict(type='MIRFlickr25k', data_root=collection, num_images=NUM,
                             split='test', pipeline=[dict(type='LoadImageFromFile'),
                                                     dict(type='PackInputs')]))
    sample = ds[0]
    assert tuple(sample['inputs'].shape) == (3, 8, 8)
    assert sample['data_samples'].gt_label.tolist() == ds.get_data_info(0)['gt_label']
    assert _ds(collection, lazy_init=True).num_classes == 24


# -------------------------------------------------------------------------- bad input
def test_missing_annotation_file_and_image(collection):
    path = osp.join(collection, 'annotations', 'river.txt')
    os.remove(path)
    with pytest.raises(FileNotFoundError, match=_msg(path, "label 'river'")):
        _ds(collection)
    _write(path, '')
    first = TRUTH['animals'][0]
    os.remove(osp.join(collection, 'mirflickr', f'im{first}.jpg'))
    with pytest.raises(FileNotFoundError,
                       match=_msg(f'im{first}.jpg', 'animals.txt', 'not found', line=1)):
        _ds(collection, split='all')
    assert len(_ds(collection, split='all', check_images=False)) == NUM - len(UNLABELLED)


def test_bad_annotation_lines(collection):
    ann = Path(collection) / 'annotations'
    path = _write(ann / 'food.txt', '1\n2\nseven\n')
    with pytest.raises(ValueError, match=_msg(path, "'seven'", 'not an image number', line=3)):
        _ds(collection)
    path = _write(ann / 'food.txt', '1\n41\n')
    with pytest.raises(ValueError, match=_msg(path, 'image number 41', '1..40', line=2)):
        _ds(collection)
    path = _write(ann / 'food.txt', '0\n')
    with pytest.raises(ValueError, match=_msg(path, 'image number 0', line=1)):
        _ds(collection)
    path = _write(ann / 'food.txt', '4\n\n6\n4\n')
    with pytest.raises(ValueError, match=_msg(path, 'image 4', 'twice', 'first at line 1',
                                              line=4)):
        _ds(collection)


def test_bad_classes_and_settings(collection):
    with pytest.raises(ValueError, match=_msg("'kitten'", 'potential labels')):
        _ds(collection, metainfo=dict(classes=['sky', 'kitten']))
    with pytest.raises(ValueError, match=_msg("'food'", 'relevant labels')):
        _ds(collection, label_set='relevant', metainfo=dict(classes=['food']))
    with pytest.raises(ValueError, match=_msg("'sky'", 'twice')):
        _ds(collection, metainfo=dict(classes=['sky', 'sky']))
    with pytest.raises(ValueError, match='label_set must be one of'):
        _ds(collection, label_set='all')
    with pytest.raises(ValueError, match='split must be one of'):
        _ds(collection, split='val')
    with pytest.raises(ValueError, match='train_fraction'):
        _ds(collection, train_fraction=0)
    with pytest.raises(ValueError, match=_msg('data_prefix', 'outside data_root')):
        _ds(collection, data_prefix='../elsewhere', check_images=False)


def test_bad_split_file_and_empty_splits(collection):
    split = Path(collection) / 'split.txt'
    path = _write(split, 'im1.jpg\nim2.jpg\n1\n')
    with pytest.raises(ValueError, match=_msg(path, 'im1.jpg', 'twice', 'first at line 1',
                                              line=3)):
        _ds(collection, split_file='split.txt')
    path = _write(split, 'im1.jpg\nim17.jpg\n')
    with pytest.raises(ValueError, match=_msg(path, 'im17.jpg', 'none of the 24 labels',
                                              line=2)):
        _ds(collection, split_file='split.txt')
    assert len(_ds(collection, split_file='split.txt', keep_empty=True)) == 2
    path = _write(split, 'im1.jpg\nphoto.png\n')
    with pytest.raises(ValueError, match=_msg(path, "'photo.png'", line=2)):
        _ds(collection, split_file='split.txt')
    path = _write(split, '\n\n')
    with pytest.raises(ValueError, match=_msg('empty split', path)):
        _ds(collection, split_file='split.txt')
    with pytest.raises(FileNotFoundError, match=_msg('split file', 'nope.txt')):
        _ds(collection, split_file='nope.txt')
    # a label with one image: floor(0.8 * 1) = 0 training images
    one = TRUTH['animals'][:1]
    _write(Path(collection) / 'annotations' / 'animals.txt', f'{one[0]}\n')
    with pytest.raises(ValueError, match=_msg('empty split', "no 'train' image")):
        _ds(collection, metainfo=dict(classes=['animals']))
    assert len(_ds(collection, split='test', metainfo=dict(classes=['animals']))) == 1
    # no labelled image at all
    for name in POTENTIAL_LABELS:
        _write(Path(collection) / 'annotations' / f'{name}.txt', '')
    with pytest.raises(ValueError, match=_msg('empty split', 'annotations', 'keep_empty')):
        _ds(collection)


def test_subset_indices_checked(collection):
    assert len(_ds(collection, indices=[2, 0])) == 2
    with pytest.raises(ValueError, match=_msg('annotations', 'indices[2] = 2', 'repeats')):
        _ds(collection, indices=[0, 2, 2])


# ----------------------------------------------------------------------------- config
def test_base_config_builds_on_fixture(collection):
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'mirflickr25k.py'))
    assert cfg.dataset_type == 'MIRFlickr25k'
    assert 'MIRFlickr25k' in DATASETS.module_dict
    assert cfg.data_preprocessor.num_classes == 24
    ids = {}
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset_cfg = dict(cfg[name]['dataset'], data_root=collection, num_images=NUM,
                           serialize_data=False)
        ds = DATASETS.build(dataset_cfg)
        ids[name] = {ds.get_data_info(i)['img_id'] for i in range(len(ds))}
        assert tuple(ds[0]['inputs'].shape) == (3, 224, 224)
    assert len(ids['train_dataloader']) == 29
    assert len(ids['val_dataloader']) == 8
    assert not ids['train_dataloader'] & ids['val_dataloader']
    assert ids['val_dataloader'] == ids['test_dataloader']
