# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The quick path of the MulSupCon vector reproduction on the real yeast split: pretraining a
few hundred iterations through the stock tools, then linear probes of the pretrained and of a
random-init MLP under the authors' protocol (lowest validation BCE, test split)."""
import importlib.util
import json
import os.path as osp

import pytest

from tests.tiny_run import REPO_ROOT


def _load_script():
    path = osp.join(REPO_ROOT, 'tools', 'benchmarks', 'reproduce_mulsupcon_vectors.py')
    spec = importlib.util.spec_from_file_location('reproduce_mulsupcon_vectors', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_script = _load_script()
METRICS, main, parse_args = _script.METRICS, _script.main, _script.parse_args


def test_parse_args_defaults():
    args = parse_args(['--quick'])
    assert args.pretrain_iters == 600
    assert args.downstream_iters == 500
    assert 'randinit-linear' in args.rows
    assert 'bce' in args.rows
    full = parse_args([])
    assert full.pretrain_iters == 150000
    assert full.downstream_iters == 1500
    assert full.seeds == [0, 1, 2]
    assert full.datasets == ['yeast', 'scene']
    with pytest.raises(SystemExit):
        parse_args(['--downstream-iters', '10'])


@pytest.mark.slow
def test_quick_yeast_beats_random_init(shared_data, tmp_path, capsys):
    work = tmp_path / 'repro'
    results = main(['--quick', '--datasets', 'yeast', '--seeds', '0', '--jobs', '1',
                    '--rows', 'mulsupcon-linear', 'randinit-linear',
                    '--pretrain-iters', '400', '--downstream-iters', '300',
                    '--data-root', shared_data, '--work-dir', str(work)])
    out = capsys.readouterr().out
    assert '| MulSupCon -> linear probe | oracle |' in out
    assert '| paper: MulSupCon | oracle | - | 79.9 | 65.9 | 47.5 | 66.7 | - |' in out
    pre = results['yeast']['mulsupcon-linear'][0]
    rand = results['yeast']['randinit-linear'][0]
    for key in METRICS:
        assert 0.0 <= pre[key] <= 100.0
    # the pretrained backbone is a better frozen feature extractor than a random one
    assert pre['mAP'] > rand['mAP'] + 2.0, (pre, rand)
    assert pre['oracle_example_f1'] > rand['oracle_example_f1'], (pre, rand)
    assert pre['oracle_micro_f1'] > rand['oracle_micro_f1'], (pre, rand)
    saved = json.load(open(osp.join(work, 'results.json')))
    assert saved['results']['yeast']['mulsupcon-linear'][0]['mAP'] == pytest.approx(pre['mAP'])
    # the test split was evaluated (917 yeast test rows -> metric of the test dataloader)
    assert osp.isfile(work / 'yeast' / 'seed0' / 'mulsupcon-linear' / 'test_metrics.pkl')
