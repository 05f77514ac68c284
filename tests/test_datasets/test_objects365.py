# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Tests of :class:`mlcl_plugin.datasets.Objects365MultiLabel`.

A miniature Objects365 v2 is written under ``tmp_path``: a COCO-format json whose
``file_name`` values look like the release's (``images/v1/patch0/objects365_v1_....jpg``),
with non-contiguous category ids listed out of order, an image without boxes and a crowd
box, and real 8x8 JPEGs in the layout of the v2 patch archives (``train/patch0/...``).
Checked:

- image-level labels against a plain-Python reference from the json, the drop of images
  without boxes, the class orders inherited from ``COCOMultiLabel``;
- ``file_name_mode`` (``'patch'``, ``'as_is'``, ``'basename'`` and its name collisions) and
  ``exclude_file_names``;
- the seeded subset: size, ascending ids, reproducible, another seed differs, nested for
  smaller sizes, equal to :func:`objects365_subset_indices`;
- bad input raises with the file, the id and the value: subset too large, image missing on
  disk (``check_images``), unknown category, duplicate image, path leaving ``data_root``,
  missing file;
- ``configs/_base_/datasets/objects365.py`` loads and its datasets build on the fixture.
"""
import json
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
from mlcl_plugin.datasets import COCOMultiLabel, Objects365MultiLabel, objects365_subset_indices
from mlcl_plugin.datasets.objects365 import OBJECTS365_V2_MISSING_IMAGES

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# category id -> name, listed out of id order as in the v1 files
CATEGORIES = ((365, 'Flashlight'), (1, 'Person'), (5, 'Chair'), (2, 'Sneakers'))
NUM_IMAGES = 12
EMPTY_ID = 7  # no box


def _file_name(img_id):
    return f'images/v1/patch{img_id % 2}/objects365_v1_{img_id:08d}.jpg'


def _short(img_id):
    return f'patch{img_id % 2}/objects365_v1_{img_id:08d}.jpg'


def _coco():
    rng = np.random.default_rng(3)
    images, annotations = [], []
    for img_id in range(1, NUM_IMAGES + 1):
        images.append(dict(id=img_id, file_name=_file_name(img_id), width=8, height=8))
        if img_id == EMPTY_ID:
            continue
        cats = rng.choice([c for c, _ in CATEGORIES], size=int(rng.integers(1, 4)))
        for cat in cats:
            annotations.append(dict(id=len(annotations) + 1, image_id=img_id,
                                    category_id=int(cat), bbox=[0, 0, 4, 4], area=16,
                                    iscrowd=int(img_id == 3)))
    images.reverse()  # not in id order
    return dict(images=images, annotations=annotations,
                categories=[dict(id=c, name=n) for c, n in CATEGORIES])


def _dump(root, coco, name='zhiyuan_objv2_train.json'):
    path = osp.join(root, 'annotations', name)
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(coco, f)
    return path


def write_release(root):
    """Write the miniature v2 release (train/ and val/ patch folders, the two jsons) under
    ``root``; return it as a string. Also used by the config tiny runs (tests/tiny_run.py)."""
    root = Path(root)
    for img_id in range(1, NUM_IMAGES + 1):
        for split in ('train', 'val'):
            path = root / split / _short(img_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((8, 8, 3), 20 * img_id, dtype=np.uint8)).save(str(path))
    _dump(str(root), _coco())
    _dump(str(root), _coco(), 'zhiyuan_objv2_val.json')
    return str(root)


@pytest.fixture
def release(tmp_path):
    return write_release(tmp_path / 'Obj365_v2')


def _reference(coco):
    """{image id: sorted names} with classes in ascending category id order, plain Python."""
    order = [n for _, n in sorted(CATEGORIES)]
    names = {}
    cat_name = {c['id']: c['name'] for c in coco['categories']}
    for ann in coco['annotations']:
        names.setdefault(ann['image_id'], set()).add(cat_name[ann['category_id']])
    return {i: sorted(ns, key=order.index) for i, ns in names.items()}


def _ds(root, **kwargs):
    kwargs.setdefault('serialize_data', False)  # mmengine's gc.collect() is slow in a suite
    kwargs.setdefault('ann_file', 'annotations/zhiyuan_objv2_train.json')
    kwargs.setdefault('data_prefix', 'train')
    kwargs.setdefault('file_name_mode', 'patch')
    return Objects365MultiLabel(data_root=root, **kwargs)


def _samples(ds):
    return {ds.get_data_info(i)['img_id']: [ds.CLASSES[k] for k in ds.get_data_info(i)['gt_label']]
            for i in range(len(ds))}


def _msg(*literals):
    return '(?s)' + ''.join(f'(?=.*{re.escape(str(t))})' for t in literals)


# ------------------------------------------------------------------------------ labels
def test_labels_match_reference(release):
    ds = _ds(release, check_images=True)
    assert isinstance(ds, COCOMultiLabel)
    assert ds.metainfo['classes'] == ('Person', 'Sneakers', 'Chair', 'Flashlight')
    assert ds.cat_ids == (1, 2, 5, 365)
    assert _samples(ds) == _reference(_coco())
    assert len(ds) == NUM_IMAGES - 1 == ds.num_images_kept
    assert ds.num_dropped == 1
    assert ds.num_excluded == 0
    ids = [ds.get_data_info(i)['img_id'] for i in range(len(ds))]
    assert ids == sorted(ids)
    assert EMPTY_ID not in ids
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert info['img_path'] == osp.join(release, 'train', _short(info['img_id']))
    # inherited options: alphabetical order, keep_empty, skip_crowd
    ds = _ds(release, class_order='alphabetical', keep_empty=True)
    assert ds.metainfo['classes'] == ('Chair', 'Flashlight', 'Person', 'Sneakers')
    assert len(ds) == NUM_IMAGES
    assert _samples(ds)[EMPTY_ID] == []
    assert 3 not in _samples(_ds(release, skip_crowd=True))


def test_file_name_modes(release):
    ds = _ds(release, file_name_mode='as_is', data_prefix='')
    assert ds.get_data_info(0)['img_path'] == osp.join(release, _file_name(1))
    os.makedirs(osp.join(release, 'flat'))
    ds = _ds(release, file_name_mode='basename', data_prefix='flat')
    assert ds.get_data_info(0)['img_path'] == osp.join(release, 'flat',
                                                       osp.basename(_file_name(1)))
    # two patches holding the same file name collide once the folders are dropped
    coco = _coco()
    coco['images'][0]['file_name'] = 'images/v2/patch9/' + osp.basename(_file_name(1))
    path = _dump(release, coco)
    with pytest.raises(ValueError, match=_msg(path, 'same image file',
                                              osp.basename(_file_name(1)))):
        _ds(release, file_name_mode='basename', data_prefix='flat')
    with pytest.raises(ValueError, match='file_name_mode must be one of'):
        _ds(release, file_name_mode='flat')


def test_exclude_file_names(release):
    ds = _ds(release, exclude_file_names=[_short(2), _short(5), 'patch6/not_there.jpg'])
    assert ds.num_excluded == 2
    assert set(_samples(ds)) == set(range(1, NUM_IMAGES + 1)) - {2, 5, EMPTY_ID}
    assert len(OBJECTS365_V2_MISSING_IMAGES) == 3
    assert len(_ds(release, exclude_file_names=OBJECTS365_V2_MISSING_IMAGES)) == NUM_IMAGES - 1
    with pytest.raises(TypeError, match='sequence of names'):
        _ds(release, exclude_file_names=_short(2))


# ------------------------------------------------------------------------------ subset
def test_seeded_subset(release):
    full = sorted(_samples(_ds(release)))
    ds = _ds(release, subset_size=5, subset_seed=0)
    ids = [ds.get_data_info(i)['img_id'] for i in range(len(ds))]
    assert len(ds) == 5
    assert ids == sorted(ids)
    assert set(ids) <= set(full)
    assert ds.num_images_kept == len(full)
    assert ids == [full[i] for i in objects365_subset_indices(len(full), 5, 0)]
    assert _samples(ds) == {i: n for i, n in _samples(_ds(release)).items() if i in ids}
    # reproducible; another seed gives another subset; a smaller one is nested
    assert [d['img_id'] for d in _ds(release, subset_size=5).data_list] == ids
    other = [d['img_id'] for d in _ds(release, subset_size=5, subset_seed=1).data_list]
    assert other != ids
    small = [d['img_id'] for d in _ds(release, subset_size=3).data_list]
    assert set(small) <= set(ids)
    assert 'Subset' in repr(ds)
    # train and val are separate files, so their subsets never share an image entry
    val = _ds(release, ann_file='annotations/zhiyuan_objv2_val.json', data_prefix='val',
              subset_size=5, subset_seed=0)
    assert all(d['img_path'].startswith(osp.join(release, 'val')) for d in val.data_list)


def test_subset_errors(release):
    path = osp.join(release, 'annotations', 'zhiyuan_objv2_train.json')
    with pytest.raises(ValueError, match=_msg(path, 'subset_size=12', '11 images')):
        _ds(release, subset_size=12)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match='subset_size must be a positive int'):
            _ds(release, subset_size=bad)
    with pytest.raises(ValueError, match='subset_size=0 is not in 1..4'):
        objects365_subset_indices(4, 0)


# -------------------------------------------------------------------------- bad input
def test_missing_image_checked(release):
    path = osp.join(release, 'annotations', 'zhiyuan_objv2_train.json')
    ids = [d['img_id'] for d in _ds(release, subset_size=4).data_list]
    outside = next(i for i in range(1, NUM_IMAGES + 1) if i not in ids and i != EMPTY_ID)
    os.remove(osp.join(release, 'train', _short(outside)))
    assert len(_ds(release, subset_size=4, check_images=True)) == 4  # only the subset
    with pytest.raises(FileNotFoundError, match=_msg(path, f'image id={outside}', 'not found',
                                                     _short(outside))):
        _ds(release, check_images=True)
    assert len(_ds(release)) == NUM_IMAGES - 1  # not checked by default


def test_inherited_validation(release):
    coco = _coco()
    coco['annotations'][2]['category_id'] = 77
    path = _dump(release, coco)
    with pytest.raises(ValueError, match=_msg(path, 'annotation id=3', 'category_id=77')):
        _ds(release)
    coco = _coco()
    coco['images'][1]['file_name'] = coco['images'][0]['file_name']
    path = _dump(release, coco)
    with pytest.raises(ValueError, match=_msg(path, 'same image file')):
        _ds(release)
    coco = _coco()
    coco['images'][0]['file_name'] = '../../../secret.jpg'
    path = _dump(release, coco)
    with pytest.raises(ValueError, match=_msg(path, 'id=12', '../../../secret.jpg',
                                              'outside data_root')):
        _ds(release, file_name_mode='as_is')
    coco['images'] = []
    coco['annotations'] = []
    path = _dump(release, coco)
    with pytest.raises(ValueError, match=_msg(path, 'lists no images')):
        _ds(release)
    with pytest.raises(FileNotFoundError, match=_msg('objects365_val.json', 'not found')):
        _ds(release, ann_file='annotations/objects365_val.json')


# ----------------------------------------------------------------------------- config
def test_base_config_builds_on_fixture(release):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'objects365.py'))
    assert cfg.dataset_type == 'Objects365MultiLabel'
    assert 'Objects365MultiLabel' in DATASETS.module_dict
    assert cfg.data_preprocessor.num_classes == 365
    for name, size in (('train_dataloader', 6), ('val_dataloader', 4)):
        dataset_cfg = dict(cfg[name]['dataset'], data_root=release, serialize_data=False,
                           subset_size=size)
        ds = DATASETS.build(dataset_cfg)
        assert len(ds) == size
        assert tuple(ds[0]['inputs'].shape) == (3, 224, 224)
    assert cfg.test_dataloader.dataset.ann_file == cfg.val_dataloader.dataset.ann_file
