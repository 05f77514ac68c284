# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Every shipped config that is not build-only runs one tiny CPU epoch through the stock
tools/train.py (the configs, their tiny data and the build checks are in tests/test_configs.py)."""
import os.path as osp

import pytest
import torch

from tests.test_configs import PRETRAIN_CONFIGS, TINY_RUN_CONFIGS, _load, _make_tiny, tiny_data
from tests.tiny_run import run_stock_train, tiny_checkpoint_name


@pytest.fixture(scope='module')
def data(coco128, toy_root, voc_root, shared_data, tmp_path_factory):
    return tiny_data(coco128, toy_root, voc_root, shared_data,
                     tmp_path_factory.mktemp('release_fixtures'))


@pytest.fixture(scope='module')
def pretrained(data, tmp_path_factory):
    """Tiny pretraining checkpoints for the linear / fine-tune configs: COCO R50, ToyShapes and
    the MLPs of the vector track (yeast, scene)."""
    out = {}
    for key, rel in PRETRAIN_CONFIGS.items():
        work_dir = tmp_path_factory.mktemp(f'pretrain_{key}')
        cfg = _make_tiny(_load(rel), data, str(work_dir))
        path = work_dir / 'cfg.py'
        cfg.dump(str(path))
        run_stock_train(path, work_dir)
        out[key] = str(work_dir / tiny_checkpoint_name(cfg))
        assert osp.isfile(out[key])
    return out


def _checkpoint_key(rel):
    """Which tiny pretraining checkpoint a config's backbone loads."""
    if rel.startswith('configs/lightly/') and 'coco128' in rel:
        return 'lightly_coco128'  # the quarter-width ResNet-18 of the Lightly comparison
    for key in ('toy', 'yeast', 'scene'):
        if key in osp.basename(rel):
            return key
    return 'coco'


@pytest.mark.slow
@pytest.mark.parametrize('rel', TINY_RUN_CONFIGS)
def test_config_tiny_run_through_stock_train(rel, data, pretrained, tmp_path):
    checkpoint = pretrained[_checkpoint_key(rel)]
    if rel in PRETRAIN_CONFIGS.values():
        return  # already run by the `pretrained` fixture
    cfg = _make_tiny(_load(rel), data, str(tmp_path), checkpoint=checkpoint)
    path = tmp_path / 'cfg.py'
    cfg.dump(str(path))
    proc = run_stock_train(path, tmp_path)
    log = proc.stdout + proc.stderr
    last = tmp_path / tiny_checkpoint_name(cfg)
    assert osp.isfile(last), log[-2000:]
    # mmap: only the tensors compared below are read from the (R50: hundreds of MB) files
    state = torch.load(last, map_location='cpu', weights_only=False, mmap=True)
    if cfg.get('val_dataloader'):
        assert 'multi-label/mAP' in log
    init_cfg = cfg.model.backbone.get('init_cfg')
    if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        # the backbone really came from the checkpoint (prefix='backbone.'); frozen configs keep
        # it unchanged through training
        source = torch.load(checkpoint, map_location='cpu', weights_only=False,
                            mmap=True)['state_dict']
        key = next(k for k in source if k.startswith('backbone.') and k.endswith('weight'))
        if (cfg.model.backbone.get('frozen_stages', -1) == 4
                or cfg.model.backbone.get('frozen', False)):
            assert torch.equal(state['state_dict'][key], source[key])
        assert 'load backbone. in model from' in log or 'Load checkpoint' in log
