# Copyright (c) mlcl_plugin authors. All rights reserved.
"""tools/benchmarks/probe_pretraining.py: the validation-only probe of pretraining settings
pretrains through the stock tools/train.py on real PETA photos, scores the frozen backbone with
a ridge probe on the validation split, caches each variant and writes its table block."""
import json
import os.path as osp
import sys

import numpy as np
import pytest

from tests.tiny_run import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'benchmarks'))
import probe_pretraining as probe

VARIANTS = ['random init (floor)', 'MulSupCon as shipped (Adam 3e-3, tau 0.1, queue 4096)']


def test_ridge_probe_ranks_informative_features_above_noise():
    rng = np.random.RandomState(0)
    y = (rng.rand(300, 4) < 0.3).astype(float)
    informative = y + 0.1 * rng.randn(300, 4)
    noise = rng.randn(300, 4)
    assert probe.ridge_probe(informative[:200], y[:200], informative[200:], y[200:]) > 99
    assert probe.ridge_probe(noise[:200], y[:200], noise[200:], y[200:]) < 60


@pytest.mark.slow
def test_quick_probe_trains_scores_caches_and_writes_the_table(shared_data, tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text(f'a\n{probe.README_BEGIN}\nold\n{probe.README_END}\nb\n')
    argv = ['--quick', '--threads', '1', '--data-root', shared_data, '--datasets', 'peta',
            '--variants', *VARIANTS, '--work-dir', str(tmp_path / 'w'), '--readme', str(readme)]
    records = probe.main(argv)
    assert [r['variant'] for r in records] == VARIANTS
    for rec in records:
        assert 0 < rec['probe_val_mAP'] <= 100
    trained = records[1]
    assert trained['train_s'] > 0
    assert np.all(np.isfinite(trained['losses']))
    with open(osp.join(tmp_path, 'w', 'peta', 'MulSupCon_as_shipped', 'probe.json')) as f:
        assert json.load(f)['probe_val_mAP'] == trained['probe_val_mAP']
    text = readme.read_text()
    assert 'old' not in text
    assert text.startswith('a\n')
    assert text.endswith('\nb\n')
    assert '| PETA (random split) | MulSupCon as shipped' in text
    # cached: a rerun trains nothing and gives the same numbers
    # (orchestration.run is the one way the scripts start a stock tool)
    original = probe.bench.orch.run

    def refuse(cmd, *args, **kwargs):
        if 'tools/train.py' in cmd:
            raise AssertionError(f'cached variant ran again: {cmd}')
        return original(cmd, *args, **kwargs)

    probe.bench.orch.run = refuse
    try:
        again = probe.main(argv)
    finally:
        probe.bench.orch.run = original
    assert [r['probe_val_mAP'] for r in again] == [r['probe_val_mAP'] for r in records]
