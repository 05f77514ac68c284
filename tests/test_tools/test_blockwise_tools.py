# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The block-wise pipeline benchmark runs end to end (on a handful of the real photos)."""
import os.path as osp

import numpy as np

from tests.tiny_run import load_tool


def _load(name):
    return load_tool(f'tools/benchmarks/{name}.py')


benchmark_blockwise_pipeline = _load('benchmark_blockwise_pipeline')


def test_pipeline_benchmark_smoke(coco128, capsys):
    result = benchmark_blockwise_pipeline.main([
        '--data-root', osp.join(coco128, 'train2017'), '--num-images', '3', '--rounds', '1',
        '--size', '32'])
    assert result['blockwise'] > 0
    assert result['mocov2'] > 0
    assert np.isclose(result['ratio'], result['mocov2'] / result['blockwise'])
    assert 'cost ratio blockwise (8 views) / mocov2 (2 views)' in capsys.readouterr().out
