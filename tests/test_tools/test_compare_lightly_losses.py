# Copyright (c) mlcl_plugin authors. All rights reserved.
"""tools/benchmarks/compare_lightly_losses.py: its configs exist, its parsing and schedule
helpers, and one short end-to-end run (pretrain, linear probe, test) on coco128."""
import json
import os.path as osp
import pickle

import pytest

pytest.importorskip('lightly')
from tests.tiny_run import REPO_ROOT, load_tool


@pytest.fixture(scope='module')
def compare():
    return load_tool('tools/benchmarks/compare_lightly_losses.py')


def test_every_referenced_config_exists(compare):
    for name, spec in compare.DATASETS.items():
        for cfg in [*spec['pretrain'].values(), spec['probe']]:
            assert osp.isfile(osp.join(REPO_ROOT, cfg)), f'{name}: {cfg}'
        assert set(compare.DEFAULT_METHODS) <= set(spec['pretrain'])


@pytest.mark.parametrize('dataset', ['coco128', 'yeast'])
def test_schedule_options_fit_the_configs(compare, dataset):
    """Every key the shortened schedules set already exists in the config it is applied to
    (a yeast probe that trains by epochs to its plateau has no max_iters to set)."""
    from mmengine.config import Config

    spec = compare.DATASETS[dataset]
    runs = [(cfg, False) for cfg in spec['pretrain'].values()] + [(spec['probe'], True)]
    for cfg_path, probe in runs:
        cfg = Config.fromfile(osp.join(REPO_ROOT, cfg_path))
        for option in compare.schedule_options(spec['by_epoch'], 7, probe=probe):
            node = cfg
            for part in option.split('=')[0].split('.'):
                assert (int(part) < len(node)) if part.isdigit() else part in node, \
                    f'{cfg_path}: {option} sets a key the config does not have'
                node = node[int(part)] if part.isdigit() else node[part]


def test_schedule_options(compare):
    assert compare.schedule_options(True, None, probe=False) == []
    assert compare.schedule_options(True, 3, probe=True) == [
        'train_cfg.max_epochs=3', 'param_scheduler.0.T_max=3', 'param_scheduler.0.end=3',
        'train_cfg.val_interval=3', 'default_hooks.checkpoint.interval=3']
    # the vector pretraining's two warm-restart cycles keep their 1:2 ratio
    assert compare.schedule_options(False, 300, probe=False) == [
        'train_cfg.max_iters=300', 'param_scheduler.0.periods=[100,200]',
        'param_scheduler.0.end=300', 'default_hooks.checkpoint.interval=300']


def test_time_per_iter_and_metrics_parsing(compare, tmp_path):
    lines = [dict(lr=0.1, loss=1.0, time=t, iter=i + 1) for i, t in enumerate([9, 8, 1, 3, 2])]
    lines.append({'multi-label/mAP': 50.0, 'step': 5})  # a validation entry: no loss
    path = tmp_path / 'scalars.json'
    path.write_text('\n'.join(json.dumps(x) for x in lines))
    assert compare.time_per_iter(str(path)) == 2  # median of [1, 3, 2] after 2 warm-up iters
    assert compare.count_iters(str(path)) == 5
    with open(tmp_path / 'm.pkl', 'wb') as f:
        pickle.dump({'multi-label/mAP': 12.5, 'multi-label/CF1': 3, 'other': 'x'}, f)
    assert compare.load_metrics(str(tmp_path / 'm.pkl')) == {'mAP': 12.5, 'CF1': 3.0}
    table = compare.format_table([
        dict(method='A', time_per_iter=0.0123, loss_ms=0.456, iters=6,
             metrics={'mAP': 1.0, 'CF1': 2.0}),
        dict(method='B', time_per_iter=0.5, iters=6, metrics={'mAP': 3.0})])
    assert table.splitlines()[0] == ('| method | pretrain ms/iter | loss ms | pretrain iters | '
                                     'mAP | CF1 |')
    assert table.splitlines()[2] == '| A | 12.3 | 0.46 | 6 | 1.00 | 2.00 |'
    assert table.splitlines()[3] == '| B | 500.0 | - | 6 | 3.00 | - |'


def test_loss_step_timing_covers_the_multilabel_moco_configs(compare):
    spec = compare.DATASETS['coco128']['pretrain']
    ms = compare.loss_step_ms({k: spec[k] for k in ('mulsupcon', 'ntxent', 'simsiam')},
                              repeats=2)
    assert set(ms) == {'mulsupcon', 'ntxent'}  # SimSiam is not a MultiLabelMoCo config
    assert all(v > 0 for v in ms.values())


def test_methods_without_a_config_are_refused(compare, tmp_path):
    with pytest.raises(SystemExit):
        compare.parse_args(['--dataset', 'yeast', '--methods', 'simsiam',
                            '--data-root', str(tmp_path)])


@pytest.mark.slow
def test_end_to_end_on_coco128(compare, coco128, tmp_path, capsys):
    loader = ['num_workers=0', 'persistent_workers=False']
    rows = compare.main([
        '--dataset', 'coco128', '--methods', 'ntxent', '--data-root', coco128,
        '--work-dir', str(tmp_path), '--pretrain-epochs', '1', '--probe-epochs', '1',
        '--out', str(tmp_path / 'rows.json'), '--loss-repeats', '2',
        '--pretrain-cfg-options', 'train_dataloader.dataset.indices=32',
        *[f'train_dataloader.{x}' for x in loader],
        '--probe-cfg-options', 'train_dataloader.dataset.indices=16',
        *[f'{d}_dataloader.{x}' for d in ('train', 'val', 'test') for x in loader]])
    assert len(rows) == 1
    row = rows[0]
    assert row['iters'] == 2  # 32 photos / batch 16, one epoch
    assert row['time_per_iter'] > 0
    assert row['loss_ms'] > 0
    assert 0 <= row['metrics']['mAP'] <= 100
    assert 'CF1' in row['metrics']  # the probe's evaluator (mlgcn=True) ran through tools/test.py
    out = capsys.readouterr().out
    assert '| Lightly NTXent + memory bank |' in out
    assert json.loads((tmp_path / 'rows.json').read_text())['rows'][0]['key'] == 'ntxent'
