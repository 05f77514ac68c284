# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Every shipped config loads, resolves custom_imports to the plugin and builds its model, datasets
and evaluator (the tiny CPU epoch through the stock tools/train.py is in
tests/test_configs_tiny_runs.py, a file of its own so that the two halves run on different
test workers)."""
import contextlib
import glob
import os.path as osp
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mlcl_plugin  # noqa: F401  (registers the plugin)
from tests.tiny_run import (
    REPO_ROOT,
    SMALL_FIXTURE_TYPES,
    _walk,
    make_tiny,
)

CONFIGS = sorted(
    osp.relpath(p, REPO_ROOT)
    for p in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)
# The real-photo configs run end to end (pretrain, probe, test, score) in the --quick grid of
# tools/benchmarks/benchmark_real_photos.py (tests/test_tools/test_benchmark_real_photos.py);
# here they are loaded and built like every config.
# Configs that differ from a tiny-run config only in data (files, sizes, class count),
# schedule, learning rate or scalar options of the same modules (gamma, loss weight, loss form,
# stop-gradient, 1/|y| weighting, resolution) are built here but not run: each maps to the
# config whose tiny run covers its modules and pipeline, and test_build_only_configs_match_
# their_tiny_run checks that the two use the same module and transform types, that the
# build-only one uses no hook, loop, optimiser or scheduler type the other does not, and that
# some tiny run computes each of its metrics; so a build-only config that gains one of those
# fails until it gets a run of its own.
_MSC = 'configs/mulsupcon/'
_BENCH = 'configs/mulsupcon/benchmarks/'
_BLOCK = 'configs/blockwise/'
_BLOCKSIMSIAM = _BLOCK + 'blocksimsiam_resnet50_2xb62-coslr-400e_coco.py'
# The MulSupCon COCO pretraining: configs/mulsupcon_r50_coco.py, the paper's COCO 2014 config
# unchanged, whose tiny run is the `pretrained` fixture of the tiny runs.
_MSC_RUN = 'configs/mulsupcon_r50_coco.py'
_VEC = 'configs/mulsupcon_vector/'
BUILD_ONLY = {
    **{f'{_MSC}mulsupcon_resnet50_{s}-coslr-400e_{d}.py': _MSC_RUN
       for s, d in (('8xb8', 'nus-wide'), ('8xb16', 'objects365'), ('8xb8', 'mirflickr25k'),
                    ('8xb8', 'voc07'), ('8xb8', 'coco2014'), ('8xb8', 'coco2017'))},
    # ALL / ANY / 1/|y|: the positive set and the per-sample weight are options of the same head
    **{f'{_MSC}mulsupcon-{v}_resnet50_8xb8-coslr-400e_{d}.py': _MSC_RUN
       for v, d in (('persample', 'mirflickr25k'), ('persample', 'voc07'),
                    ('persample', 'coco2014'), ('all', 'coco2014'), ('any', 'coco2014'))},
    **{f'{_VEC}mulsupcon-{v}_mlp_1xb64-adam-150k_{d}.py':
       f'{_VEC}mulsupcon_mlp_1xb64-adam-150k_{d}.py'
       for v in ('all', 'any', 'persample') for d in ('yeast', 'scene')},
    **{f'{_VEC}benchmarks/mlp_1xb32-{kind}-adam-1500it_scene.py':
       f'{_VEC}benchmarks/mlp_1xb32-{kind}-adam-1500it_yeast.py'
       for kind in ('linear', 'finetune')},
    'configs/baselines/mlp_1xb32-bce-adam-1500it_scene.py':
        'configs/baselines/mlp_1xb32-bce-adam-1500it_yeast.py',
    'configs/baselines/resnet50_8xb8-bce-coslr-400e_coco2017.py':
        'configs/baselines/resnet50_8xb8-bce-coslr-400e_coco2014.py',
    **{f'{_BENCH}resnet50_8xb8-{kind}-adam-30e_coco2017.py':
       f'{_BENCH}resnet50_8xb8-{kind}-adam-30e_coco2014.py' for kind in ('linear', 'finetune')},
    'configs/blockwise/benchmarks/resnet50_8xb8-linear-sgd-coslr-100e_coco-448.py':
        'configs/blockwise/benchmarks/resnet50_8xb8-linear-sgd-coslr-100e_voc07.py',
    _BLOCK + 'blocksimsiam_resnet50_2xb64-coslr-100e_voc.py': _BLOCKSIMSIAM,
    **{f'{_BENCH}resnet50_8xb8-{kind}-adam-30e_{d}.py':
       f'{_BENCH}resnet50_8xb8-{kind}-adam-30e_coco2014.py'
       for kind in ('linear', 'finetune') for d in ('nus-wide', 'objects365', 'mirflickr25k')},
    f'{_BENCH}resnet50_8xb8-linear-adam-30e_mirflickr25k-transfer.py':
        f'{_BENCH}resnet50_8xb8-linear-adam-30e_coco2014.py',
    f'{_BENCH}resnet50_8xb8-linear-adam-30e_voc07-indomain.py':
        f'{_BENCH}resnet50_8xb8-linear-adam-30e_voc07.py',
    f'{_BENCH}resnet50_8xb8-finetune-adam-30e_voc07.py':
        f'{_BENCH}resnet50_8xb8-linear-adam-30e_voc07.py',
    **{f'configs/baselines/resnet50_{s}-bce-coslr-400e_{d}.py':
       'configs/baselines/resnet50_8xb8-bce-coslr-400e_coco2014.py'
       for s, d in (('8xb8', 'nus-wide'), ('8xb16', 'objects365'), ('8xb8', 'mirflickr25k'),
                    ('8xb8', 'voc07'))},
    **{f'{_BLOCK}blocksimsiam-{v}_resnet50_2xb62-coslr-400e_coco.py': _BLOCKSIMSIAM
       for v in ('gamma0.2', 'gamma0.1', 'gamma0', 'grid2x1', 't1t1', 'iaw1', 'supcon',
                 'stopgrad')},
    'configs/mulcon/mulcon-stage1_resnet101_2xb16-adamw-25e_coco-576px.py':
        'configs/mulcon/mulcon-stage1_resnet101_2xb16-adamw-25e_coco-448px.py',
    # MulCon stage 2: the paper's ResNet-101 at 448 / 576 px and the coco128 ResNet-18 at 128 px
    # build the same modules (depth and resolution are options); stage 1 keeps its ResNet-101
    # run, which alone loads a pretrained backbone
    **{f'configs/mulcon/mulcon-stage2_resnet101_2xb12-sgd-15e_coco-{px}.py':
       'configs/mulcon/mulcon-stage2_resnet18_1xb8-sgd-4e_coco128-128px.py'
       for px in ('448px', '576px')},
}
# Configs whose model or views are new but whose runner, hooks and data loading are those of a
# tiny-run config: one training step in process (test_config_one_train_step_in_process), a
# few seconds instead of a stock-tool run of most of a minute each.
IN_PROCESS_STEP = {
    _BLOCK + 'blocksimsiam-grid3_resnet50_2xb62-coslr-400e_coco.py',  # 18 views per image
    _BLOCK + 'blocksimsiam-noia_resnet50_2xb62-coslr-400e_coco.py',  # no image-aware head
    _BLOCK + 'simsiam_resnet50_2xb62-coslr-400e_coco.py',  # stock SimSiam, 2 views
}
TINY_RUN_CONFIGS = [c for c in CONFIGS
                    if not c.startswith('configs/real_photos/') and c not in BUILD_ONLY
                    and c not in IN_PROCESS_STEP]
CUSTOM_IMPORTS = dict(imports=['mlcl_plugin'], allow_failed_imports=False)
# pretraining configs whose tiny checkpoints the linear / fine-tune configs load
PRETRAIN_CONFIGS = {
    'coco': 'configs/mulsupcon_r50_coco.py',
    'toy': 'configs/toy_shapes/mulsupcon_resnet18-w16_1xb64-coslr-15e_toyshapes.py',
    'yeast': 'configs/mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_yeast.py',
    'scene': 'configs/mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_scene.py',
    'lightly_coco128': 'configs/lightly/mlmoco-mulsupcon_resnet18-w16_1xb16-adam-20e_coco128.py',
}


def _load(rel):
    return Config.fromfile(osp.join(REPO_ROOT, rel))


# A stock KFoldDataset carve-out (fold 0 of 10) of the 8 tiny images would leave an empty
# validation fold, so tiny runs split the tiny data in two folds of 4.
KFOLD_TINY_SPLITS = 2


def _make_tiny(cfg, data, work_dir, **kwargs):
    """``make_tiny`` that also handles loaders wrapped in mmpretrain's ``KFoldDataset`` (the
    validation carve-out of data sets without one of their own): the wrapped dataset gets the
    tiny data, the wrapper two folds."""
    wrappers = {}
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader and loader['dataset'].get('type') == 'KFoldDataset':
            wrappers[name] = loader['dataset']
            loader['dataset'] = wrappers[name].pop('dataset')
    cfg = make_tiny(cfg, data, work_dir, **kwargs)
    for name, wrapper in wrappers.items():
        wrapper.update(dataset=cfg[name]['dataset'], num_splits=KFOLD_TINY_SPLITS)
        cfg[name]['dataset'] = wrapper
    return cfg


def _tiny_len(ds_cfg, num_samples=8):
    """Samples a tiny loader holds; None for the miniature releases, which keep every image
    (a handful, see tests.tiny_run.SMALL_FIXTURE_TYPES)."""
    if ds_cfg.get('type') == 'KFoldDataset':
        return num_samples // KFOLD_TINY_SPLITS
    if ds_cfg.get('type') in SMALL_FIXTURE_TYPES:
        return None
    return num_samples


# The miniature NUS-WIDE and Objects365 releases hold a few of the real classes; a config's class
# count is checked against the real set's instead.
FULL_CLASS_COUNTS = {'NUSWIDE': 81, 'Objects365MultiLabel': 365}


def tiny_data(coco128, toy_root, voc_root, shared_data, root):
    """Where the tiny runs find their data (``make_tiny``'s ``data``): the shared folders and
    the miniature NUS-WIDE / MIRFLICKR / Objects365 releases, written under ``root`` by the
    writers of their dataset tests."""
    from tests.test_datasets.test_mirflickr import NUM as MIRFLICKR_NUM
    from tests.test_datasets.test_mirflickr import write_collection
    from tests.test_datasets.test_nus_wide import write_release as write_nus_wide
    from tests.test_datasets.test_objects365 import write_release as write_objects365

    return {'coco128': coco128, 'toy': toy_root, 'voc': voc_root, 'shared': shared_data,
            'nus_wide': write_nus_wide(root / 'nus-wide'),
            'mirflickr': write_collection(root / 'mirflickr25k'),
            'mirflickr_num_images': MIRFLICKR_NUM,
            'objects365': write_objects365(root / 'Obj365_v2')}


@pytest.fixture(scope='module')
def data(coco128, toy_root, voc_root, shared_data, tmp_path_factory):
    return tiny_data(coco128, toy_root, voc_root, shared_data,
                     tmp_path_factory.mktemp('release_fixtures'))


def test_configs_found():
    assert 'configs/mulsupcon_r50_coco.py' in CONFIGS
    assert len(CONFIGS) >= 10


@pytest.mark.parametrize('rel', CONFIGS)
def test_config_carries_custom_imports(rel):
    """custom_imports resolves to the plugin (written once, in the runtime base: see
    tests/test_configs_layout.py). Also finding 3 (issue 13): every shipped config trains, so
    every one carries NonFiniteLossHook next to its own hooks (mmengine replaces a base's
    custom_hooks list)."""
    cfg = _load(rel)
    assert cfg.custom_imports == CUSTOM_IMPORTS
    assert cfg.get('train_cfg')
    hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
    assert hooks.count('NonFiniteLossHook') == 1, hooks


# torch.nn.init's in-place initialisers, which the layers call as they are constructed
_INITIALISERS = ('uniform_', 'normal_', 'trunc_normal_', 'constant_', 'ones_', 'zeros_',
                 'kaiming_uniform_', 'kaiming_normal_', 'xavier_uniform_', 'xavier_normal_',
                 'orthogonal_')


@contextlib.contextmanager
def _uninitialised_weights():
    """Inside, the layers are built with their real shapes and wiring but their weights are left
    as allocated: the build check does not run them, and initialising a ResNet-101 costs about a
    second (the tiny runs build and initialise the models they train)."""
    with mock.patch.multiple(torch.nn.init, **{name: lambda tensor, *args, **kwargs: tensor
                                               for name in _INITIALISERS}):
        yield


@pytest.mark.parametrize('rel', CONFIGS)
def test_config_builds(rel, data, tmp_path):
    from mmpretrain.registry import DATASETS, METRICS, MODELS

    cfg = _make_tiny(_load(rel), data, str(tmp_path), checkpoint='unused.pth')
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    with _uninitialised_weights():
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    datasets = {}
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(name):
            dataset = datasets[name] = DATASETS.build(cfg[name]['dataset'])
            expected = _tiny_len(cfg[name]['dataset'])
            assert len(dataset) == expected if expected is not None else len(dataset) > 0
            sample = dataset[0]
            assert 'inputs' in sample
            assert 'data_samples' in sample
    for name in ('val_evaluator', 'test_evaluator'):
        if cfg.get(name):
            evaluators = cfg[name] if isinstance(cfg[name], list) else [cfg[name]]
            for ev in evaluators:
                METRICS.build(ev)
    if cfg.model.get('num_classes'):
        # MultiLabelMoCo's label width must match its dataset
        ds_cfg = cfg.train_dataloader.dataset
        if ds_cfg['type'] in FULL_CLASS_COUNTS:
            assert cfg.model.num_classes == FULL_CLASS_COUNTS[ds_cfg['type']], rel
        else:
            ds = datasets['train_dataloader']
            assert len(ds.metainfo['classes']) == cfg.model.num_classes, rel
    head_classes = cfg.model.get('head', {}).get('num_classes')
    onehot_classes = cfg.get('data_preprocessor', {}).get('num_classes')
    if head_classes and onehot_classes:
        # a classifier's width must match the one-hot targets of its data set
        assert head_classes == onehot_classes, (rel, head_classes, onehot_classes)


def _types(node):
    """Every ``type`` in a config subtree, in a fixed traversal order."""
    out = []
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            out.append(node['type'])
        for key in sorted(node):
            out += _types(node[key])
    elif isinstance(node, (list, tuple)):
        for value in node:
            out += _types(value)
    return out


def _module_signature(cfg):
    """The module types of the model and the transform types of the training pipeline."""
    ds = cfg.train_dataloader.dataset
    while 'pipeline' not in ds and isinstance(ds.get('dataset'), dict):
        ds = ds['dataset']  # dataset wrappers (KFoldDataset) are data, not modules
    return (_types(cfg.model.to_dict()), _types(cfg.get('data_preprocessor') or {}),
            _types(list(ds['pipeline'])))


def _runner_signature(cfg):
    """The hook, loop, optimiser and scheduler types a run of the config builds."""
    return (_types(list(cfg.get('custom_hooks', []))), _types(cfg.get('default_hooks', {})),
            [(cfg.get(k) or {}).get('type') for k in ('train_cfg', 'val_cfg', 'test_cfg')],
            _types(cfg.optim_wrapper.to_dict()), _types(list(cfg.get('param_scheduler') or [])))


def _metric_types(cfg):
    """The metric types of the config's validation and test evaluators."""
    return set(_types(cfg.get('val_evaluator') or {}) + _types(cfg.get('test_evaluator') or {}))


def test_build_only_configs_match_their_tiny_run():
    assert set(BUILD_ONLY) <= set(CONFIGS), sorted(set(BUILD_ONLY) - set(CONFIGS))
    run_metrics = set().union(*(_metric_types(_load(rel)) for rel in TINY_RUN_CONFIGS))
    for rel, covered_by in BUILD_ONLY.items():
        assert covered_by in TINY_RUN_CONFIGS, (rel, covered_by)
        mine, theirs = _load(rel), _load(covered_by)
        assert _module_signature(mine) == _module_signature(theirs), (
            f'{rel} uses modules or transforms that {covered_by} does not: give it a tiny run '
            '(remove it from BUILD_ONLY) or map it to a config that covers them')
        assert all(set(a) <= set(b) for a, b in zip(_runner_signature(mine),
                                                     _runner_signature(theirs))), (
            f'{rel} uses hooks, loops, optimisers or schedulers that {covered_by} '
            'does not: give it a tiny run or map it to a config that covers them')
        # the metrics may come from any tiny run (the VOC metric runs in the VOC probes)
        assert _metric_types(mine) <= run_metrics, (
            f'{rel}: no tiny run computes {sorted(_metric_types(mine) - run_metrics)}')


def test_build_only_check_is_not_vacuous():
    # the block-wise views without the image-aware head are another model
    base = _load(_BLOCKSIMSIAM)
    noia = _load(_BLOCK + 'blocksimsiam-noia_resnet50_2xb62-coslr-400e_coco.py')
    assert _module_signature(base) != _module_signature(noia)
    assert _BLOCK + 'blocksimsiam-noia_resnet50_2xb62-coslr-400e_coco.py' in IN_PROCESS_STEP
    assert _BLOCKSIMSIAM in TINY_RUN_CONFIGS  # the runner path of the in-process configs
    # the cosine variant of a downstream protocol schedules another way: it runs on its own
    plateau = _runner_signature(_load(f'{_BENCH}resnet50_8xb8-finetune-adam-30e_coco2014.py'))
    cosine = _runner_signature(
        _load(f'{_BENCH}resnet50_8xb8-finetune-adam-coslr-30e_coco2014.py'))
    assert not set(cosine[4]) <= set(plateau[4]), (cosine[4], plateau[4])
    assert f'{_BENCH}resnet50_8xb8-finetune-adam-coslr-30e_coco2014.py' in TINY_RUN_CONFIGS


IN_PROCESS_BATCH = 2  # two images: the image-aware contrast has a negative image
IN_PROCESS_SIZE = 16


def _views_at(size):
    def shrink(t):
        if t.get('type') == 'RandomResizedCrop':
            t['scale'] = size
    return shrink


def _to_plain_bn(node):
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'  # what the stock tools do outside distributed training
        for value in node.values():
            _to_plain_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _to_plain_bn(value)


@pytest.mark.parametrize('rel', sorted(IN_PROCESS_STEP))
def test_config_one_train_step_in_process(rel, data, tmp_path):
    """One optimiser step of the config's model on a batch of its tiny training data, with its
    optimiser: the loss is finite and the weights move."""
    from mmengine.dataset import default_collate
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.registry import DATASETS, MODELS

    torch.manual_seed(0)
    cfg = _make_tiny(_load(rel), data, str(tmp_path), batch_size=IN_PROCESS_BATCH)
    _to_plain_bn(cfg.model)
    # 16 px views (a ResNet's last stage is 1 x 1 from 32 px down): the step checks the wiring,
    # and 36 views of 16 px cost an eighth of 72 of 32 px
    _walk(cfg.train_dataloader, _views_at(IN_PROCESS_SIZE))
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    model.train()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = default_collate([dataset[i] for i in range(cfg.train_dataloader.batch_size)])
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {k: p.detach().clone() for k, p in model.named_parameters()}
    threads = torch.get_num_threads()
    # one thread: beside another process (the other pytest-xdist worker) two OpenMP threads
    # wait on each other, and this backward pass takes 10 x longer
    torch.set_num_threads(1)
    try:
        losses = model.train_step(batch, optim_wrapper)
    finally:
        torch.set_num_threads(threads)
    assert losses
    assert all(torch.isfinite(v).all() for v in losses.values()), losses
    moved = [k for k, p in model.named_parameters() if not torch.equal(before[k], p)]
    assert any(k.startswith('backbone.') for k in moved), rel
