# Copyright (c) mlcl_plugin authors. All rights reserved.
import json
import os.path as osp
import posixpath
import re
from collections import defaultdict

import pytest
import torch
from mmengine.fileio import BaseStorageBackend, register_backend
from mmpretrain.registry import DATASETS
from mmpretrain.structures import label_to_onehot

from mlcl_plugin.datasets import COCOMultiLabel
from mlcl_plugin.datasets.coco_multilabel import parse_coco_multilabel
from mlcl_plugin.datasets.transforms import ImageLoadError

ANN = osp.join('annotations', 'instances_train2017.json')


# ----------------------------------------------------------------------------- real data
@pytest.fixture(scope='module')
def raw(coco128):
    """The coco128 json digested with plain Python, independently of the dataset code."""
    with open(osp.join(coco128, ANN)) as f:
        coco = json.load(f)
    cat_name = {c['id']: c['name'] for c in coco['categories']}
    names = defaultdict(set)
    crowd_free = defaultdict(set)
    for ann in coco['annotations']:
        names[ann['image_id']].add(cat_name[ann['category_id']])
        if not ann['iscrowd']:
            crowd_free[ann['image_id']].add(cat_name[ann['category_id']])
    images = {im['id']: im for im in coco['images']}
    return {'coco': coco, 'names': names, 'crowd_free': crowd_free, 'images': images,
            'coco_order': [cat_name[i] for i in sorted(cat_name)]}


@pytest.fixture(scope='module')
def dataset(coco128):
    return COCOMultiLabel(ann_file=ANN, data_root=coco128, data_prefix='train2017')


def _names(ds, idx):
    return {ds.CLASSES[i] for i in ds.get_data_info(idx)['gt_label']}


def test_counts_match_raw_json(dataset, raw):
    annotated = [i for i in raw['images'] if raw['names'][i]]
    assert len(raw['images']) == 128
    assert len(dataset) == len(annotated) == 126
    assert dataset.num_images_total == 128
    assert dataset.num_dropped == 128 - len(annotated) == 2
    assert [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))] == sorted(annotated)


def test_labels_match_raw_json(dataset, raw):
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        image = raw['images'][info['img_id']]
        assert _names(dataset, idx) == raw['names'][info['img_id']]
        assert info['gt_label'] == sorted(set(info['gt_label']))
        assert info['img_path'] == osp.join(dataset.img_prefix, image['file_name'])
        assert (info['width'], info['height']) == (image['width'], image['height'])
    # spot checks against hand-read annotations (first image and the most crowded one)
    assert _names(dataset, 0) == {'bowl', 'orange', 'broccoli'}
    assert max(len(dataset.get_data_info(i)['gt_label']) for i in range(len(dataset))) == 11


def test_coco_class_order(dataset, raw):
    assert dataset.num_classes == 80
    assert list(dataset.CLASSES) == raw['coco_order']
    assert dataset.metainfo['classes'][0] == 'person'
    assert dataset.metainfo['classes'][-1] == 'toothbrush'
    assert max(dataset.cat_ids) == 90  # 91-id space squeezed into 0..79


def test_alphabetical_class_order(coco128, raw, dataset):
    ds = COCOMultiLabel(ann_file=ANN, data_root=coco128, data_prefix='train2017',
                        class_order='alphabetical')
    assert list(ds.CLASSES) == sorted(raw['coco_order'])
    assert ds.CLASSES[:3] == ('airplane', 'apple', 'backpack')
    assert ds.num_classes == 80
    for idx in range(len(ds)):
        assert _names(ds, idx) == _names(dataset, idx)


def test_keep_empty(coco128, raw):
    ds = COCOMultiLabel(ann_file=ANN, data_root=coco128, data_prefix='train2017',
                        keep_empty=True)
    assert len(ds) == 128
    assert ds.num_dropped == 0
    assert ds.num_empty == 2
    empty = {i for i in raw['images'] if not raw['names'][i]}
    for idx in range(len(ds)):
        info = ds.get_data_info(idx)
        assert (info['gt_label'] == []) == (info['img_id'] in empty)
        if info['img_id'] in empty:
            assert label_to_onehot(info['gt_label'], ds.num_classes).sum() == 0
    assert 'Images kept as all-negative: \t2' in repr(ds)


def test_skip_crowd_real(coco128, raw):
    ds = COCOMultiLabel(ann_file=ANN, data_root=coco128, data_prefix='train2017',
                        skip_crowd=True)
    kept = sorted(i for i in raw['images'] if raw['crowd_free'][i])
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == kept
    for idx in range(len(ds)):
        assert _names(ds, idx) == raw['crowd_free'][ds.get_data_info(idx)['img_id']]


def test_get_cat_ids(dataset):
    for idx in (0, 5, len(dataset) - 1):
        assert dataset.get_cat_ids(idx) == dataset.get_data_info(idx)['gt_label']
    assert dataset.get_cat_ids(0) == [dataset.class_to_idx[n] for n in ('bowl', 'orange',
                                                                          'broccoli')]


def test_repr(dataset, coco128):
    text = repr(dataset)
    assert 'Dataset COCOMultiLabel' in text
    assert 'Number of samples: \t126' in text
    assert 'Number of categories: \t80' in text
    extra = dataset.extra_repr()
    assert extra[0] == f'Annotation file: \t{osp.join(coco128, ANN)}'
    assert extra[1] == f'Prefix of images: \t{osp.join(coco128, "train2017")}'
    assert 'Class order: \tcoco' in extra
    assert 'Images kept: \t126' in extra
    assert 'Images dropped (no annotation): \t2' in extra


def test_lazy_init(coco128):
    ds = COCOMultiLabel(ann_file=ANN, data_root=coco128, data_prefix='train2017',
                        lazy_init=True)
    assert 'not loaded yet' in repr(ds)
    assert ds.num_classes == 80  # loads on demand
    assert len(ds) == 126


def test_build_from_registry_with_pipeline(coco128):
    ds = DATASETS.build(
        {
            'type': 'COCOMultiLabel',
            'data_root': coco128,
            'ann_file': ANN,
            'data_prefix': {'img_path': 'train2017'},
            'class_order': 'alphabetical',
            'pipeline': [
                {'type': 'LoadImageFromFile'},
                {'type': 'ResizeEdge', 'scale': 64},
                {'type': 'PackInputs'},
            ]})
    assert isinstance(ds, COCOMultiLabel)
    out = ds[0]
    inputs, sample = out['inputs'], out['data_samples']
    assert inputs.dtype == torch.uint8
    assert inputs.shape == (3, 64, 85)
    assert inputs.float().std() > 10  # a real photo, not a blank image
    assert sample.gt_label.tolist() == ds.get_data_info(0)['gt_label']
    assert {ds.CLASSES[i] for i in sample.gt_label.tolist()} == {'bowl', 'orange', 'broccoli'}
    assert sample.img_path.endswith('000000000009.jpg')


# ---------------------------------------------------------------------- small written files
def _cats():
    # non-contiguous ids as in COCO / Objects365, listed out of id order
    return [{'id': 7, 'name': 'zebra'}, {'id': 2, 'name': 'cat'}, {'id': 40, 'name': 'apple'}]


def _images(n=4):
    return [{'id': i, 'file_name': f'{i:03d}.jpg', 'width': 10 + i, 'height': 20 + i}
            for i in range(n, 0, -1)]


def _anns():
    return [
        {'id': 1, 'image_id': 1, 'category_id': 7, 'iscrowd': 0},
        {'id': 2, 'image_id': 1, 'category_id': 2, 'iscrowd': 0},
        {'id': 3, 'image_id': 1, 'category_id': 7, 'iscrowd': 0},  # duplicate label
        {'id': 4, 'image_id': 2, 'category_id': 40, 'iscrowd': 1},  # crowd only
        {'id': 5, 'image_id': 3, 'category_id': 40, 'iscrowd': 0},
        {'id': 6, 'image_id': 3, 'category_id': 2, 'iscrowd': 1},
        # image 4 has no annotation
    ]


def _write(tmp_path, coco=None):
    if coco is None:
        coco = {'images': _images(), 'annotations': _anns(), 'categories': _cats()}
    (tmp_path / 'imgs').mkdir(exist_ok=True)
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(coco))
    return str(path)


def _small(tmp_path, **kwargs):
    return COCOMultiLabel(ann_file='ann.json', data_root=str(tmp_path), data_prefix='imgs',
                          **kwargs)


def _rows(ds):
    return [(ds.get_data_info(i)['img_id'], ds.get_data_info(i)['gt_label'])
            for i in range(len(ds))]


def test_small_defaults(tmp_path):
    _write(tmp_path)
    ds = _small(tmp_path)
    assert ds.CLASSES == ('cat', 'zebra', 'apple')  # ascending id 2, 7, 40
    assert _rows(ds) == [(1, [0, 1]), (2, [2]), (3, [0, 2])]  # ascending image id
    info = ds.get_data_info(0)
    assert info['img_path'] == osp.join(str(tmp_path), 'imgs', '001.jpg')
    assert (info['width'], info['height']) == (11, 21)


def test_small_keep_empty_and_alphabetical(tmp_path):
    _write(tmp_path)
    ds = _small(tmp_path, keep_empty=True, class_order='alphabetical')
    assert ds.CLASSES == ('apple', 'cat', 'zebra')
    assert _rows(ds) == [(1, [1, 2]), (2, [0]), (3, [0, 1]), (4, [])]


def test_skip_crowd(tmp_path):
    _write(tmp_path)
    ds = _small(tmp_path, skip_crowd=True)
    # image 2 only has a crowd box, so it becomes empty and is dropped
    assert _rows(ds) == [(1, [0, 1]), (3, [2])]
    assert ds.num_dropped == 2
    ds = _small(tmp_path, skip_crowd=True, keep_empty=True)
    assert _rows(ds) == [(1, [0, 1]), (2, []), (3, [2]), (4, [])]


def test_metainfo_classes_reorder(tmp_path):
    _write(tmp_path)
    ds = _small(tmp_path, metainfo={'classes': ['apple', 'zebra', 'cat']})
    assert ds.CLASSES == ('apple', 'zebra', 'cat')
    assert _rows(ds) == [(1, [1, 2]), (2, [0]), (3, [0, 2])]
    # mmpretrain's ``classes`` shortcut goes through the same check
    assert _small(tmp_path, classes=['zebra', 'apple', 'cat']).CLASSES[0] == 'zebra'


def test_metainfo_classes_mismatch(tmp_path):
    _write(tmp_path)
    with pytest.raises(ValueError, match=r"unknown names: \['dog'\], missing names: \['apple'\]"):
        _small(tmp_path, metainfo={'classes': ['dog', 'zebra', 'cat']})
    with pytest.raises(ValueError, match=r"duplicated names: \['cat'\]"):
        _small(tmp_path, metainfo={'classes': ['cat', 'zebra', 'apple', 'cat']})


def test_objects365_like_ids(tmp_path):
    # category ids starting at 0 and images without width/height are fine
    coco = {'images': [{'id': 10, 'file_name': 'a/b.jpg'}],
                'annotations': [{'id': 0, 'image_id': 10, 'category_id': 0}],
                'categories': [{'id': 1, 'name': 'x'}, {'id': 0, 'name': 'y'}]}
    _write(tmp_path, coco)
    ds = _small(tmp_path)
    assert ds.CLASSES == ('y', 'x')
    assert ds.get_data_info(0)['gt_label'] == [0]
    assert ds.get_data_info(0)['width'] is None
    assert ds.get_data_info(0)['img_path'].endswith(osp.join('imgs', 'a', 'b.jpg'))


def test_missing_ann_file(tmp_path):
    (tmp_path / 'imgs').mkdir()
    missing = osp.join(str(tmp_path), 'nope.json')
    with pytest.raises(FileNotFoundError, match=re.escape(missing)):
        COCOMultiLabel(ann_file='nope.json', data_root=str(tmp_path), data_prefix='imgs')


def test_missing_image_dir(tmp_path):
    _write(tmp_path)
    with pytest.raises(FileNotFoundError, match='image directory not found: .*nodir'):
        COCOMultiLabel(ann_file='ann.json', data_root=str(tmp_path), data_prefix='nodir')
    # a lazy dataset only checks when it loads
    ds = COCOMultiLabel(ann_file='ann.json', data_root=str(tmp_path), data_prefix='nodir',
                        lazy_init=True)
    with pytest.raises(FileNotFoundError, match='nodir'):
        ds.full_init()


def test_invalid_class_order(tmp_path):
    _write(tmp_path)
    with pytest.raises(ValueError, match="class_order must be one of .*'by_id'"):
        _small(tmp_path, class_order='by_id')


@pytest.mark.parametrize(
    ('overrides', 'pattern'),
    [
        pytest.param({'images': None}, '"images"', id='no-images'),
        pytest.param({'annotations': None}, '"annotations"', id='no-annotations'),
        pytest.param({'categories': None}, '"categories"', id='no-categories'),
        pytest.param({'annotations': [{'id': 1, 'category_id': 2}]},
                     r'annotations\[0\] \(id=1\) has no "image_id" field', id='ann-no-image_id'),
        pytest.param({'annotations': [{'id': 1, 'image_id': 1}]},
                     r'annotations\[0\] \(id=1\) has no "category_id" field', id='ann-no-cat'),
        pytest.param({'images': [{'file_name': 'a.jpg'}]},
                     r'images\[0\] has no "id" field', id='img-no-id'),
        pytest.param({'images': [{'id': 1}]},
                     r'images\[0\] \(id=1\) has no "file_name" field', id='img-no-file_name'),
        pytest.param({'categories': [{'id': 1}]},
                     r'categories\[0\] \(id=1\) has no "name" field', id='cat-no-name'),
        pytest.param({'categories': []}, 'defines no categories', id='empty-categories'),
        pytest.param({'annotations': [{'id': 55, 'image_id': 1, 'category_id': 999}]},
                     r'annotation id=55 has category_id=999 which is not in "categories"',
                     id='unknown-category'),
        pytest.param({'annotations': [{'id': 56, 'image_id': 77, 'category_id': 2}]},
                     r'annotation id=56 refers to image_id=77 which is not in "images"',
                     id='unknown-image'),
        pytest.param({'categories': [{'id': 1, 'name': 'cat'}, {'id': 2, 'name': 'cat'}]},
                     "duplicate category name 'cat'", id='duplicate-category-name'),
        pytest.param({'images': _images(2) + _images(1)}, 'duplicate image id 1',
                     id='duplicate-image-id'),
        pytest.param({'annotations': _anns() + _anns()[:1]}, 'duplicate annotation id 1',
                     id='duplicate-annotation-id'),
        pytest.param({'images': 'x.jpg'}, '"images" must be a list', id='images-not-list'),
    ])
def test_bad_coco_dict(tmp_path, overrides, pattern):
    coco = {'images': _images(), 'annotations': _anns(), 'categories': _cats()}
    coco.update(overrides)
    coco = {k: v for k, v in coco.items() if v is not None}
    path = _write(tmp_path, coco)
    with pytest.raises(ValueError, match=pattern) as info:
        _small(tmp_path)
    assert path in str(info.value)  # every message names the file


@pytest.mark.parametrize(
    ('content', 'pattern'),
    [('[1, 2]', 'does not hold a COCO instances dict'), ('{"images": [', 'not a valid JSON')])
def test_not_a_coco_file(tmp_path, content, pattern):
    (tmp_path / 'imgs').mkdir()
    (tmp_path / 'ann.json').write_text(content)
    with pytest.raises(ValueError, match=pattern):
        _small(tmp_path)


def test_parse_function_names_source():
    with pytest.raises(ValueError, match='my_source.json has no "images" field'):
        parse_coco_multilabel({'annotations': [], 'categories': []}, ann_file='my_source.json')


def test_corrupt_image_raises_naming_file(tmp_path):
    _write(tmp_path)
    (tmp_path / 'imgs' / '001.jpg').write_bytes(b'\xff\xd8\xff\xe0 not a jpeg' + bytes(500))
    ds = _small(tmp_path, pipeline=[{'type': 'LoadImageFromFile'}, {'type': 'PackInputs'}])
    # the plugin's checked LoadImageFromFile raises a real error (mmcv's asserts) naming the
    # file; the issue-13 finding-6 tests in test_data_safety.py cover every kind of breakage
    with pytest.raises(ImageLoadError, match=r'failed to load image: .*001\.jpg: the cv2 '
                       'decoder could not decode'):
        ds[0]


# ---------------------------------------------------------------- non-local file backends
class _MemoryBackend(BaseStorageBackend):
    """A stand-in for a remote store: files live in a dict, paths are ``memtest://...``."""

    files: dict = {}

    def __init__(self, **kwargs):
        pass

    def get(self, filepath):
        if filepath not in self.files:
            raise FileNotFoundError(filepath)
        return self.files[filepath]

    def get_text(self, filepath, encoding='utf-8'):
        return self.get(filepath).decode(encoding)

    def join_path(self, filepath, *filepaths):
        return posixpath.join(filepath, *filepaths)


register_backend('mlcl_memtest', _MemoryBackend, prefixes='memtest', force=True)


def test_remote_backend():
    coco = {'images': _images(), 'annotations': _anns(), 'categories': _cats()}
    _MemoryBackend.files['memtest://bucket/ann.json'] = json.dumps(coco).encode()
    # the image folder of a remote store is not checked for existence
    ds = COCOMultiLabel(ann_file='ann.json', data_root='memtest://bucket', data_prefix='imgs')
    assert ds.get_data_info(0)['img_path'] == 'memtest://bucket/imgs/001.jpg'
    assert _rows(ds)[0] == (1, [0, 1])
    with pytest.raises(FileNotFoundError, match='memtest://bucket/other.json'):
        COCOMultiLabel(ann_file='other.json', data_root='memtest://bucket')


# ------------------------------------------------------------- COCO 2014 layout, via configs
def _write_coco2014(root, split, image_ids, empty_ids=()):
    """``annotations/instances_<split>2014.json`` and ``<split>2014/COCO_<split>2014_*.jpg``
    as in the official 2014 release (file names carry the split and a 12-digit id)."""
    import numpy as np
    from PIL import Image

    folder = root / f'{split}2014'
    folder.mkdir(parents=True, exist_ok=True)
    (root / 'annotations').mkdir(exist_ok=True)
    images, anns = [], []
    for n, img_id in enumerate(image_ids):
        name = f'COCO_{split}2014_{img_id:012d}.jpg'
        pixels = np.full((24 + n, 32, 3), 40 * n % 255, dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name)
        images.append({'id': img_id, 'file_name': name, 'width': 32, 'height': 24 + n})
        if img_id not in empty_ids:
            anns.append({'id': len(anns) + 1, 'image_id': img_id, 'category_id': 1 + n % 3,
                         'iscrowd': 0})
            anns.append({'id': len(anns) + 1, 'image_id': img_id, 'category_id': 90,
                         'iscrowd': 0})
    cats = [{'id': 1, 'name': 'person'}, {'id': 2, 'name': 'bicycle'},
            {'id': 3, 'name': 'car'}, {'id': 90, 'name': 'toothbrush'}]
    ann_file = root / 'annotations' / f'instances_{split}2014.json'
    ann_file.write_text(json.dumps({'images': images, 'annotations': anns, 'categories': cats}))


@pytest.mark.parametrize('base', ['coco2014_multilabel_224.py', 'coco2014_mulsupcon.py'])
def test_coco2014_layout_through_the_2014_configs(tmp_path, base):
    """The 2014 data-set bases point at the 2014 release layout (instances_{train,val}2014.json,
    train2014/ and val2014/ with COCO_<split>2014_<id>.jpg names) and load it, dropping the
    images without annotation as the MulSupCon paper's 82,081 / 40,137 counts do."""
    from mmengine.config import Config

    train_ids = [9, 25, 30, 34, 36, 42, 49, 61, 64, 71, 72]
    _write_coco2014(tmp_path, 'train', train_ids, empty_ids=(30, ))
    _write_coco2014(tmp_path, 'val', [42, 73, 74])
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(repo, 'configs', '_base_', 'datasets', base))
    loaders = [n for n in ('train_dataloader', 'val_dataloader', 'test_dataloader')
               if cfg.get(n)]
    assert 'train_dataloader' in loaders
    parts = {}
    for name in loaders:
        ds_cfg = cfg[name]['dataset'].copy()
        assert '2014' in ds_cfg['ann_file'], (name, ds_cfg)
        assert '2014' in ds_cfg['data_prefix'], (name, ds_cfg)
        ds_cfg['data_root'] = str(tmp_path)
        ds = DATASETS.build(ds_cfg)
        split = 'train' if 'train2014' in ds_cfg['ann_file'] else 'val'
        kept = {'train': [i for i in train_ids if i != 30], 'val': [42, 73, 74]}[split]
        ids = [ds.get_data_info(i)['img_id'] for i in range(len(ds))]
        assert set(ids) <= set(kept)
        parts.setdefault(split, []).extend(ids)
        if ds_cfg.get('subset', 'all') == 'all':
            assert ids == kept
            assert ds.num_dropped == (1 if split == 'train' else 0)
        assert ds.CLASSES == ('person', 'bicycle', 'car', 'toothbrush')
        info = ds.get_data_info(0)
        assert osp.basename(info['img_path']).startswith(f'COCO_{split}2014_0000000000')
        sample = ds[0]  # the config's pipeline reads the image
        assert 'inputs' in sample
    # the downstream base: train and its validation carve-out cover train2014 once; val2014 is
    # the test split
    assert sorted(parts['train']) == [i for i in train_ids if i != 30]


# ------------------------------------------------------------------ validation carve-out
def _many(tmp_path, n=20):
    coco = {'images': [{'id': i, 'file_name': f'{i:03d}.jpg'} for i in range(1, n + 1)],
            'annotations': [{'id': i, 'image_id': i, 'category_id': 2} for i in range(1, n)],
            'categories': _cats()}  # image n has no annotation and is dropped
    _write(tmp_path, coco)
    return n - 1


def test_val_carve_out_is_seeded_disjoint_and_the_shared_helper(tmp_path):
    from mlcl_plugin.datasets import val_split_indices

    kept = _many(tmp_path)
    all_ids = [i for i, _ in _rows(_small(tmp_path))]
    train = [i for i, _ in _rows(_small(tmp_path, subset='train', val_fraction=0.25))]
    val = [i for i, _ in _rows(_small(tmp_path, subset='val', val_fraction=0.25))]
    assert len(val) == round(0.25 * kept)
    assert sorted(train + val) == all_ids
    assert not set(train) & set(val)
    assert train == sorted(train)  # ascending image id
    assert val == sorted(val)
    # the same rows as MulanDataset / MultiLabelCsvDataset for the same fraction and seed
    train_idx, val_idx = val_split_indices(kept, 0.25, 0)
    assert val == [all_ids[i] for i in val_idx.tolist()]
    assert train == [all_ids[i] for i in train_idx.tolist()]
    other = [i for i, _ in _rows(_small(tmp_path, subset='val', val_fraction=0.25, val_seed=1))]
    assert other != val
    # indices slice the part, not the file
    assert [i for i, _ in _rows(_small(tmp_path, subset='val', val_fraction=0.25,
                                       indices=2))] == val[:2]
    assert 'Subset: \tval (val_fraction 0.25, seed 0)' in repr(
        _small(tmp_path, subset='val', val_fraction=0.25))


def test_val_carve_out_after_the_objects365_subset(tmp_path):
    from mlcl_plugin.datasets import Objects365MultiLabel

    _many(tmp_path)
    kw = dict(ann_file='ann.json', data_root=str(tmp_path), data_prefix='imgs', subset_size=12)
    whole = [i for i, _ in _rows(Objects365MultiLabel(**kw))]
    parts = [[i for i, _ in _rows(Objects365MultiLabel(**kw, subset=part, val_fraction=0.25))]
             for part in ('train', 'val')]
    assert len(whole) == 12
    assert sorted(parts[0] + parts[1]) == whole
    assert len(parts[1]) == 3


@pytest.mark.parametrize(('kwargs', 'pattern'), [
    (dict(subset='test'), r"ann.json: subset must be one of \('all', 'train', 'val'\)"),
    (dict(subset='val'), r'ann.json: subset=.val. needs 0 < val_fraction < 1, got 0'),
    (dict(subset='train', val_fraction=1.0), r'needs 0 < val_fraction < 1, got 1.0'),
    (dict(subset='val', val_fraction=0.01), r'ann.json: val_fraction=0.01 of 19 rows leaves an '
                                            r'empty split'),
])
def test_val_carve_out_bad_arguments(tmp_path, kwargs, pattern):
    _many(tmp_path)
    with pytest.raises(ValueError, match=pattern):
        _small(tmp_path, **kwargs)
