# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Helpers to run any shipped config for a tiny CPU run through the stock tools/train.py."""
import importlib.util
import os
import os.path as osp
import sys

from tests import warm_launcher

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(rel: str, name: str = None):
    """Import a script of ``tools/`` as a module (the tools are scripts, not a package).

    Args:
        rel (str): its path from the repository root, e.g.
            ``'tools/benchmarks/reproduce_mulsupcon_vectors.py'``.
        name (str, optional): the module name; defaults to the file name without ``.py``.

    Returns:
        module: the executed module.
    """
    name = name or osp.splitext(osp.basename(rel))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO_ROOT, rel))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
               'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant',
               'sheep', 'sofa', 'train', 'tvmonitor')


# iteration-based configs (the vector track) run this many iterations; epoch-based ones 1 epoch
TINY_ITERS = 2
# Data sets whose tiny data are the miniature releases of their dataset tests
# (tests/test_datasets/test_{nus_wide,mirflickr,objects365}.py): a handful of images, fewer than
# `num_samples`, so their loaders keep every image and a validation carve-out takes half of them
# (10 % of a few images rounds to none).
SMALL_FIXTURE_TYPES = ('NUSWIDE', 'MIRFlickr25k', 'Objects365MultiLabel')
TINY_VAL_FRACTION = 0.5


def tiny_checkpoint_name(cfg):
    """File name of the last checkpoint a tiny run of ``cfg`` writes."""
    if cfg.train_cfg.get('type') == 'IterBasedTrainLoop':
        return f'iter_{TINY_ITERS}.pth'
    return 'epoch_1.pth'


def _walk(node, fn):
    if isinstance(node, dict):
        fn(node)
        for value in node.values():
            _walk(value, fn)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk(value, fn)


def _shrink_transform(t):
    kind = t.get('type')
    if kind == 'RandomResizedCrop':
        t['scale'] = 32
    elif kind in ('ResizeEdge', 'Resize'):
        t['scale'] = 36
    elif kind == 'CenterCrop':
        t['crop_size'] = 32


def make_tiny(cfg, data, work_dir, checkpoint=None, num_samples=8, batch_size=4):
    """Rewrite a loaded mmengine ``Config`` in place for a tiny CPU run.

    Args:
        cfg (Config): the shipped config.
        data (dict): ``{'coco128': root, 'toy': root, 'voc': root, 'shared': root}``
            (``shared``: the shared data folder, for the vector configs), and for the
            NUS-WIDE / MIRFLICKR / Objects365 configs ``'nus_wide'``, ``'mirflickr'`` (with
            ``'mirflickr_num_images'``) and ``'objects365'``: the miniature releases written
            by the writers of their dataset tests.
        work_dir (str): where the run writes.
        checkpoint (str, optional): for ``Pretrained`` backbones (linear/fine-tune configs).
    """
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if not loader:
            continue
        loader.update(num_workers=0, persistent_workers=False, pin_memory=False,
                      batch_size=batch_size)
        ds = loader['dataset']
        if ds['type'] == 'COCOMultiLabel':
            ds.update(data_root=data['coco128'],
                      ann_file='annotations/instances_train2017.json',
                      data_prefix='train2017/')
        elif ds['type'] == 'MultiLabelDataset':
            ds.update(data_root=data['toy'])
        elif ds['type'] == 'VOC':
            ds.update(data_root=data['voc'])
        elif ds['type'] == 'MultiLabelCsvDataset':
            # the real-photo configs point at data/<folder> (peta, miml_scene)
            folder = osp.basename(ds['data_root'].rstrip('/'))
            ds.update(data_root=osp.join(data['shared'], folder))
        elif ds['type'] == 'MulanDataset':
            # the vector configs point at data/<folder>; the real files are in shared data
            folder = osp.basename(ds['data_root'].rstrip('/'))
            ds.update(data_root=osp.join(data['shared'], folder))
        elif ds['type'] == 'NUSWIDE':
            ds.update(data_root=data['nus_wide'])
        elif ds['type'] == 'MIRFlickr25k':
            ds.update(data_root=data['mirflickr'], num_images=data['mirflickr_num_images'])
        elif ds['type'] == 'Objects365MultiLabel':
            # the paper-sized subset (515,233 images) cannot be drawn from the miniature
            ds.update(data_root=data['objects365'], subset_size=None)
        else:
            raise AssertionError(f'no tiny data for dataset type {ds["type"]}')
        if ds['type'] in SMALL_FIXTURE_TYPES:
            if ds.get('subset', 'all') != 'all':
                ds['val_fraction'] = TINY_VAL_FRACTION
        else:
            ds['indices'] = num_samples
    _walk(cfg.get('train_dataloader', {}), _shrink_transform)
    _walk(cfg.get('val_dataloader', {}), _shrink_transform)
    _walk(cfg.get('test_dataloader', {}), _shrink_transform)
    if cfg.train_cfg.get('type') == 'EpochBasedTrainLoop':
        cfg.train_cfg['max_epochs'] = 1
        if 'val_interval' in cfg.train_cfg:
            cfg.train_cfg['val_interval'] = 1
        # validate in the one tiny epoch (e.g. the block-wise VOC probe starts at epoch 20)
        cfg.train_cfg.pop('val_begin', None)
        cfg.train_cfg.pop('dynamic_intervals', None)
    elif cfg.train_cfg.get('type') == 'IterBasedTrainLoop':
        cfg.train_cfg['max_iters'] = TINY_ITERS
        if 'val_interval' in cfg.train_cfg:
            cfg.train_cfg['val_interval'] = TINY_ITERS
    # Two steps at a from-scratch learning rate on 8 images of 32 px can blow up the
    # untrained BN statistics (NaN scores in validation); the tiny run checks the wiring of
    # the config, not convergence, so it trains gently.
    cfg.optim_wrapper.optimizer['lr'] = cfg.optim_wrapper.optimizer['lr'] * 0.01
    cfg.default_hooks.logger['interval'] = 1
    cfg.default_hooks.checkpoint['interval'] = 1
    cfg.work_dir = work_dir
    backbone = cfg.model.get('backbone', {})
    init_cfg = backbone.get('init_cfg')
    if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        assert checkpoint is not None, 'this config needs a pretrained checkpoint'
        init_cfg['checkpoint'] = checkpoint
    if cfg.get('load_from'):
        # configs that continue an earlier run (e.g. MulCon stage 2 from stage 1)
        assert checkpoint is not None, 'this config needs a checkpoint for load_from'
        cfg.load_from = checkpoint
    return cfg


def one_thread_env():
    """This process's environment with one OpenMP / MKL thread unless it sets them."""
    env = dict(os.environ)
    env.setdefault('OMP_NUM_THREADS', '1')
    env.setdefault('MKL_NUM_THREADS', '1')
    return env


def run_stock_train(config_path, work_dir, *extra, env=None, timeout=600):
    """Run ``python tools/train.py CONFIG --work-dir WORK_DIR`` and return the process.

    Without ``env`` the run gets one OpenMP / MKL thread unless the caller's environment sets
    them: the suite runs three pytest-xdist workers on two cores, where two threads per run wait
    on each other (a tiny block-wise run took 48 s with two threads, 20 s with one, beside
    another busy process). The run starts from a warm interpreter (tests/warm_launcher.py).
    """
    if env is None:
        env = one_thread_env()
    cmd = [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), str(config_path),
           '--work-dir', str(work_dir), *extra]
    proc = warm_launcher.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=timeout, env=env)
    if proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed:\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-6000:]}')
    return proc
