# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The downstream protocol of every shipped config that selects a checkpoint (issue 16, item 3).

* the checkpoint is chosen on a validation split that is neither the test split nor part of the
  training data: the two parts of one seeded carve-out (``subset='train'`` / ``'val'`` of the
  same file, fraction and seed, or the complementary folds of one ``KFoldDataset``), or a
  separate file;
* a ``ReduceOnPlateauLR`` watches the metric the checkpoint is chosen by, in the same direction;
* the MulSupCon image downstream configs follow the paper: plateau schedule unless named
  ``-coslr-`` (the cosine variant), Adam 0.01 (linear) / 1e-4 (fine-tune), 0.04 for the transfer
  runs (Table 7 text), the oracle sweep only under its own ``oracle_*`` keys on the test split.

Configs that reproduce a reference code's own protocol (best epoch on the evaluation split) are
listed in ``REFERENCE_PROTOCOL`` with the reason; nothing else may select on the test split.
"""
import glob
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from tests.tiny_run import REPO_ROOT

CONFIGS = sorted(
    osp.relpath(p, REPO_ROOT)
    for p in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    if '/_base_/' not in p)
REFERENCE_PROTOCOL = {
    # arXiv 2506.23156's linear evaluation keeps its best epoch on the evaluation split
    'configs/blockwise/benchmarks/resnet50_8xb8-linear-sgd-coslr-100e_coco-448.py',
    'configs/blockwise/benchmarks/resnet50_8xb8-linear-sgd-coslr-100e_voc07.py',
    # MulCon's code evaluates (and keeps its best model) on COCO val2014, its test split
    'configs/mulcon/mulcon-stage1_resnet101_2xb16-adamw-25e_coco-448px.py',
    'configs/mulcon/mulcon-stage2_resnet101_2xb12-sgd-15e_coco-448px.py',
    'configs/mulcon/mulcon-stage1_resnet101_2xb16-adamw-25e_coco-576px.py',
    'configs/mulcon/mulcon-stage2_resnet101_2xb12-sgd-15e_coco-576px.py',
}
# Table 7 (transfer) probes: a backbone trained on one set, probed on another at the paper's
# transfer lr 0.04. The VOC one predates the `-transfer` suffix of the others.
TRANSFER = {'configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_voc07.py'}
CARVE_KEYS = ('subset', 'val_fraction', 'val_seed')
KFOLD_KEYS = ('num_splits', 'fold', 'seed')


def _load(rel):
    return Config.fromfile(osp.join(REPO_ROOT, rel), import_custom_modules=False)


def _selecting():
    out = {}
    for rel in CONFIGS:
        cfg = _load(rel)
        checkpoint = cfg.get('default_hooks', {}).get('checkpoint') or {}
        if checkpoint.get('save_best'):
            out[rel] = cfg
    return out


@pytest.fixture(scope='module')
def selecting():
    return _selecting()


def _source(ds):
    """What a dataset reads, without its carve-out part, pipeline or test_mode."""
    if ds.get('type') == 'KFoldDataset':
        return _source(ds['dataset'])
    skip = set(CARVE_KEYS) | {'pipeline', 'test_mode', 'indices', 'lazy_init'}
    return tuple(sorted((k, repr(v)) for k, v in ds.items() if k not in skip))


def _part(ds):
    """Which part of its source a dataset keeps: ('all',), ('carve', part, fraction, seed) or
    ('kfold', 'train'|'val', num_splits, fold, seed)."""
    if ds.get('type') == 'KFoldDataset':
        return ('kfold', 'val' if ds.get('test_mode') else 'train',
                *(ds.get(k) for k in KFOLD_KEYS))
    if ds.get('subset', 'all') != 'all':
        return ('carve', ds['subset'], ds.get('val_fraction'), ds.get('val_seed', 0))
    return ('all', )


def _problems(cfg):
    """What is wrong with the validation / test splits of a selecting config."""
    train = cfg.train_dataloader.dataset
    val = cfg.val_dataloader.dataset
    test = cfg.get('test_dataloader', {}).get('dataset')
    problems = []
    if test is not None and (_source(val), _part(val)) == (_source(test), _part(test)):
        problems.append('the checkpoint is chosen on the test split')
    if _source(val) == _source(train):
        pv, pt = _part(val), _part(train)
        complementary = (pv[0] == pt[0] != 'all' and pv[1] == 'val' and pt[1] == 'train'
                         and pv[2:] == pt[2:])
        if not complementary:
            problems.append(f'validation {pv} and training {pt} parts of the same data are '
                            'not the two sides of one carve-out')
    return problems


def test_found_the_selecting_configs(selecting):
    assert 'configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_coco2014.py' in selecting
    for data in ('nus-wide', 'objects365', 'mirflickr25k', 'voc07-indomain',
                 'mirflickr25k-transfer'):
        assert f'configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_{data}.py' in selecting
    assert TRANSFER <= set(selecting)
    assert 'configs/mulsupcon/benchmarks/resnet50_8xb8-linear-adam-30e_voc07.py' in selecting
    assert REFERENCE_PROTOCOL <= set(selecting)


def test_checkpoint_chosen_on_a_validation_split(selecting):
    wrong = {rel: p for rel, cfg in selecting.items()
             if rel not in REFERENCE_PROTOCOL and (p := _problems(cfg))}
    assert not wrong, '\n'.join(f'{rel}: {p}' for rel, p in wrong.items())


def test_the_check_catches_selection_on_the_test_split():
    """The old protocol (val = test = val2017) and a carve-out whose parts disagree fail."""
    old = Config(dict(
        train_dataloader=dict(dataset=dict(type='COCOMultiLabel', ann_file='train.json')),
        val_dataloader=dict(dataset=dict(type='COCOMultiLabel', ann_file='val.json')),
        test_dataloader=dict(dataset=dict(type='COCOMultiLabel', ann_file='val.json'))))
    assert _problems(old) == ['the checkpoint is chosen on the test split']
    mixed = Config(dict(
        train_dataloader=dict(dataset=dict(type='COCOMultiLabel', ann_file='train.json',
                                           subset='train', val_fraction=0.1, val_seed=0)),
        val_dataloader=dict(dataset=dict(type='COCOMultiLabel', ann_file='train.json',
                                         subset='val', val_fraction=0.1, val_seed=1)),
        test_dataloader=dict(dataset=dict(type='COCOMultiLabel', ann_file='val.json'))))
    assert len(_problems(mixed)) == 1
    for rel in REFERENCE_PROTOCOL:  # the listed exceptions really are exceptions
        assert _problems(_load(rel)), rel


def test_plateau_monitors_the_selection_metric(selecting):
    checked = 0
    for rel, cfg in selecting.items():
        checkpoint = cfg.default_hooks.checkpoint
        for sched in cfg.get('param_scheduler') or []:
            if sched.get('type') == 'ReduceOnPlateauLR':
                checked += 1
                assert sched['monitor'] == checkpoint['save_best'], rel
                assert sched['rule'] == checkpoint['rule'], rel
                # the monitor must be computed at every validation
                evaluators = cfg.val_evaluator if isinstance(cfg.val_evaluator, list) else [
                    cfg.val_evaluator]
                if sched['monitor'] == 'multi-label/bce':
                    assert any(e.get('bce') for e in evaluators), rel
    assert checked


MULSUPCON_DOWNSTREAM = [
    c for c in CONFIGS if c.startswith('configs/mulsupcon/benchmarks/')
    or (c.startswith('configs/mulsupcon/') and '/transfer/' in c)
]


@pytest.mark.parametrize('rel', MULSUPCON_DOWNSTREAM)
def test_mulsupcon_image_downstream_follows_the_paper(rel):
    cfg = _load(rel)
    schedulers = [s['type'] for s in cfg.param_scheduler]
    if '-coslr-' in osp.basename(rel):
        assert schedulers == ['CosineAnnealingLR'], rel
    else:
        assert schedulers == ['ReduceOnPlateauLR'], rel
        assert cfg.param_scheduler[0]['factor'] == 0.1
    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer['type'] == 'Adam'
    name = osp.basename(rel)
    transfer = rel in TRANSFER or name.endswith('-transfer.py')
    if transfer:
        expected = 0.04  # paper, Table 7 text
    elif '-finetune-' in name:
        expected = 1e-4
    else:
        expected = 0.01
    assert optimizer['lr'] == expected, (rel, optimizer['lr'])
    test_evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [
        cfg.test_evaluator]
    paper = [e for e in test_evaluators if e['type'] == 'MultiLabelPaperMetric']
    assert paper[0].get('oracle'), rel  # reported, under its own keys
    assert paper[0]['thr'] == 0.5
    val_evaluators = cfg.val_evaluator if isinstance(cfg.val_evaluator, list) else [
        cfg.val_evaluator]
    assert not any(e.get('oracle') for e in val_evaluators), rel


def test_oracle_values_are_separate_keys_beside_the_fixed_threshold():
    """The oracle sweep adds ``oracle_*`` keys; the fixed-threshold values keep their names."""
    from mlcl_plugin.evaluation.metrics.multi_label_paper import MultiLabelPaperMetric

    rng = np.random.default_rng(0)
    target = (rng.random((40, 5)) < 0.3).astype(int)
    target[0] = 1
    pred = np.clip(0.6 * target + 0.4 * rng.random((40, 5)), 0, 1)
    plain = MultiLabelPaperMetric.calculate(pred, target, thr=0.5)
    both = MultiLabelPaperMetric.calculate(pred, target, thr=0.5, oracle=True)
    for key, value in plain.items():
        assert both[key] == value
    assert {'oracle_example_f1', 'oracle_macro_f1', 'oracle_micro_f1',
            'oracle_hamming_accuracy'} <= set(both) - set(plain)
