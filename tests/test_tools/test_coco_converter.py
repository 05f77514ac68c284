# Copyright (c) mlcl_plugin authors. All rights reserved.
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmpretrain.datasets import MultiLabelDataset

from mlcl_plugin.datasets import COCOMultiLabel
from tests.tiny_run import load_tool

ANN = osp.join('annotations', 'instances_train2017.json')
TOOL = osp.join('tools', 'dataset_converters', 'coco_to_multilabel_json.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def _pairs(ds):
    return [(osp.normpath(ds.get_data_info(i)['img_path']), ds.get_data_info(i)['gt_label'])
            for i in range(len(ds))]


@pytest.mark.parametrize(
    ('options', 'expected'),
    [
        pytest.param([], {}, id='defaults'),
        pytest.param(['--class-order', 'alphabetical', '--keep-empty'],
                     {'class_order': 'alphabetical', 'keep_empty': True}, id='alpha-keep-empty'),
        pytest.param(['--skip-crowd'], {'skip_crowd': True}, id='skip-crowd'),
    ])
def test_converted_json_matches_dataset(tool, coco128, tmp_path, capsys, options, expected):
    out = str(tmp_path / 'out' / 'multilabel.json')
    assert tool.main([osp.join(coco128, ANN), out] + options) == 0

    reference = COCOMultiLabel(ann_file=ANN, data_root=coco128, data_prefix='train2017',
                               **expected)
    stock = MultiLabelDataset(ann_file=out, data_root=coco128, data_prefix='train2017')
    assert tuple(stock.CLASSES) == reference.CLASSES
    assert len(stock.CLASSES) == 80
    assert _pairs(stock) == _pairs(reference)

    summary = capsys.readouterr().out.strip()
    assert summary == (f'{out}: {len(reference)} images written, {reference.num_dropped} '
                       f'dropped (no annotation), 80 classes '
                       f'({expected.get("class_order", "coco")} order)')


def test_img_prefix(tool, coco128, tmp_path):
    out = str(tmp_path / 'multilabel.json')
    tool.main([osp.join(coco128, ANN), out, '--img-prefix', 'train2017'])
    with open(out) as f:
        content = json.load(f)
    assert sorted(content) == ['data_list', 'metainfo']
    first = content['data_list'][0]
    assert first['img_path'] == 'train2017/000000000009.jpg'
    assert first['img_id'] == 9
    assert len(content['data_list']) == 126
    # with the prefix inside img_path, data_root alone locates the images
    stock = MultiLabelDataset(ann_file=out, data_root=coco128)
    reference = COCOMultiLabel(ann_file=ANN, data_root=coco128, data_prefix='train2017')
    assert _pairs(stock) == _pairs(reference)
    assert osp.isfile(stock.get_data_info(0)['img_path'])


def test_bad_input_is_reported(tool, tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'images': [], 'annotations': []}))
    with pytest.raises(ValueError, match=f'{bad} has no "categories" field'):
        tool.main([str(bad), str(tmp_path / 'out.json')])
    with pytest.raises(FileNotFoundError, match='nope.json'):
        tool.main([str(tmp_path / 'nope.json'), str(tmp_path / 'out.json')])
    assert not (tmp_path / 'out.json').exists()


@pytest.mark.slow
def test_runs_from_repo_root_without_install(repo_root, coco128, tmp_path):
    out = str(tmp_path / 'multilabel.json')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run(
        [sys.executable, TOOL, osp.join(coco128, ANN), out, '--class-order', 'alphabetical'],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert '126 images written, 2 dropped (no annotation), 80 classes' in proc.stdout
    with open(out) as f:
        assert json.load(f)['metainfo']['classes'][0] == 'airplane'
