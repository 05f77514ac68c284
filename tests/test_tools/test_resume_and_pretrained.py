# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Checkpoint round trip through the stock tools under the installed torch.

MultiLabelMoCo on ToyShapes: 4 iterations straight equal 2 iterations + ``--resume`` + 2 more
(loss values, weights, queue, queue labels, pointer), then the checkpoint initialises a
linear-probe backbone via ``init_cfg=dict(type='Pretrained', prefix='backbone.')``.
"""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.tiny_run import REPO_ROOT, make_tiny, run_stock_train

PRETRAIN = 'configs/toy_shapes/mulsupcon_resnet18-w16_1xb64-coslr-15e_toyshapes.py'
PROBE = 'configs/toy_shapes/resnet18-w16_linear-adam-10e_toyshapes.py'


def _iter_config(data, work_dir, max_iters):
    cfg = make_tiny(Config.fromfile(osp.join(REPO_ROOT, PRETRAIN)), data, str(work_dir),
                    num_samples=16)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    # An explicit end: mmengine clips an open-ended schedule to the *first* run's max_iters
    # and restores that end on resume, which would freeze the lr of the continued run.
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', T_max=4, by_epoch=False, begin=0,
                                end=4)]
    cfg.log_processor = dict(by_epoch=False, window_size=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2, by_epoch=False)
    # queue of 8 = two batches of 4: iterations 3 and 4 contrast against the restored queue
    cfg.model.queue_len = 8
    # no dropout: torch's RNG state is not part of a checkpoint, the rest must be
    cfg.model.neck.dropout = 0.0
    path = osp.join(str(work_dir), f'cfg_{max_iters}.py')
    cfg.dump(path)
    return path


def _losses(work_dir):
    values = {}
    for scalars in sorted(glob.glob(osp.join(str(work_dir), '*', 'vis_data', 'scalars.json'))):
        with open(scalars) as f:
            for line in f:
                record = json.loads(line)
                if 'loss' in record:
                    values[record['iter']] = record['loss']
    return values


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


@pytest.fixture(scope='module')
def runs(coco128, toy_root, voc_root, tmp_path_factory):
    data = {'coco128': coco128, 'toy': toy_root, 'voc': voc_root}
    straight = tmp_path_factory.mktemp('straight')
    run_stock_train(_iter_config(data, straight, 4), straight)
    resumed = tmp_path_factory.mktemp('resumed')
    run_stock_train(_iter_config(data, resumed, 2), resumed)
    proc = run_stock_train(_iter_config(data, resumed, 4), resumed, '--resume')
    return dict(straight=straight, resumed=resumed, resume_log=proc.stdout + proc.stderr,
                data=data)


def test_resume_continues_exactly(runs):
    assert 'resumed' in runs['resume_log'].lower()
    straight, resumed = _losses(runs['straight']), _losses(runs['resumed'])
    assert sorted(straight) == [1, 2, 3, 4]
    assert sorted(resumed) == [1, 2, 3, 4]
    for it in (1, 2, 3, 4):
        assert resumed[it] == pytest.approx(straight[it], rel=1e-5, abs=1e-6), it
    a = _state(osp.join(runs['straight'], 'iter_4.pth'))
    b = _state(osp.join(runs['resumed'], 'iter_4.pth'))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=1e-6), key
    # the queue was full and in use at iterations 3-4, and holds labelled keys
    assert int(a['queue_filled']) == 8
    assert int(a['queue_ptr']) == 0
    assert a['queue_labels'].sum() > 0
    assert torch.allclose(a['queue'].norm(dim=1), torch.ones(8), atol=1e-5)


def test_pretrained_backbone_loads_with_prefix(runs, tmp_path):
    checkpoint = osp.join(runs['straight'], 'iter_4.pth')
    cfg = make_tiny(Config.fromfile(osp.join(REPO_ROOT, PROBE)), runs['data'], str(tmp_path),
                    checkpoint=checkpoint)
    path = tmp_path / 'probe.py'
    cfg.dump(str(path))
    proc = run_stock_train(path, tmp_path)
    assert 'multi-label/mAP' in proc.stdout + proc.stderr
    source = _state(checkpoint)
    probe = _state(tmp_path / 'epoch_1.pth')
    backbone = [k for k in source if k.startswith('backbone.')]
    assert backbone
    for key in backbone:
        # frozen_stages=4: every backbone tensor is the pretrained one, unchanged by the probe
        assert torch.equal(probe[key], source[key]), key


def test_stock_test_tool_scores_a_checkpoint(runs, tmp_path):
    """tools/test.py (the stock script from the mmpretrain wheel) evaluates a probe checkpoint
    with the paper metric and dumps the metrics."""
    import pickle
    import sys

    from tests import warm_launcher
    from tests.tiny_run import one_thread_env

    checkpoint = osp.join(runs['straight'], 'iter_4.pth')
    cfg = make_tiny(Config.fromfile(osp.join(REPO_ROOT, PROBE)), runs['data'], str(tmp_path),
                    checkpoint=checkpoint)
    path = tmp_path / 'probe.py'
    cfg.dump(str(path))
    run_stock_train(path, tmp_path)
    out = tmp_path / 'metrics.pkl'
    proc = warm_launcher.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'test.py'), str(path),
         str(tmp_path / 'epoch_1.pth'), '--work-dir', str(tmp_path), '--out', str(out),
         '--out-item', 'metrics'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=one_thread_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, 'rb') as f:
        metrics = pickle.load(f)
    for key in ('mAP', 'hamming_accuracy', 'example_f1', 'macro_f1', 'micro_f1',
                'precision@1'):
        assert 0.0 <= metrics[f'multi-label/{key}'] <= 100.0
