# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The block-wise pipeline benchmark and the coco128 pretraining + probe script run end to end
(on a handful of the real photos)."""
import importlib.util
import os.path as osp

import numpy as np

from tests.tiny_run import REPO_ROOT


def _load(name):
    path = osp.join(REPO_ROOT, 'tools', 'benchmarks', f'{name}.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


benchmark_blockwise_pipeline = _load('benchmark_blockwise_pipeline')
run_blockwise_coco128 = _load('run_blockwise_coco128')


def test_pipeline_benchmark_smoke(coco128, capsys):
    result = benchmark_blockwise_pipeline.main([
        '--data-root', osp.join(coco128, 'train2017'), '--num-images', '3', '--rounds', '1',
        '--size', '32'])
    assert result['blockwise'] > 0
    assert result['mocov2'] > 0
    assert np.isclose(result['ratio'], result['mocov2'] / result['blockwise'])
    assert 'cost ratio blockwise (8 views) / mocov2 (2 views)' in capsys.readouterr().out


def test_coco128_pretraining_and_probe_smoke(coco128):
    result = run_blockwise_coco128.main([
        '--data-root', coco128, '--num-images', '8', '--epochs', '2', '--batch-size', '4',
        '--size', '16', '--probe-size', '16', '--folds', '2', '--width', '4', '--threads', '1'])
    assert len(result['history']) == 2
    assert all(np.isfinite(h['loss']) for h in result['history'])
    for name in ('random init', 'pretrained'):
        assert len(result[name]) == 2
        assert all(0 <= m <= 100 for m in result[name])
