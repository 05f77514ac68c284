# Copyright (c) mlcl_plugin authors. All rights reserved.
"""tools/benchmarks/benchmark_real_photos.py: the --quick grid runs every image method end to end
on a handful of real PETA photos (pretrain through the stock tools/train.py, probe or fine-tune,
tools/test.py on the val and test splits, score), caches every unit, writes the JSON and the
table, and refuses a run whose logged loss is not finite."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from tests.tiny_run import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'benchmarks'))
import benchmark_real_photos as bench

# one row per method: every pretraining, both downstream kinds, the 10 % labels, MulCon
PETA_ROWS = ['bce', 'mulsupcon-ft', 'simsiam-linear', 'blocksimsiam-ft-10pct', 'mocov2-linear',
             'blockmoco-linear', 'all-ft', 'any-ft', 'lightly-linear', 'mulcon']
PRETRAINED = {'mulsupcon', 'simsiam', 'blocksimsiam', 'mocov2', 'blockmoco', 'all', 'any',
              'lightly', 'mulcon1'}


@pytest.fixture(scope='module')
def quick_peta(shared_data, tmp_path_factory):
    work = tmp_path_factory.mktemp('real_photos_quick')
    readme = work / 'README.md'
    readme.write_text(f'# x\n\nbefore\n{bench.README_BEGIN}\nold table\n{bench.README_END}\n'
                      'after\n')
    # one thread per run: the suite runs three pytest-xdist workers on a 2-core machine
    argv = ['--quick', '--threads', '1', '--data-root', shared_data, '--datasets', 'peta',
            '--seeds', '0',
            '--rows', *PETA_ROWS, '--work-dir', str(work / 'grid'), '--readme', str(readme),
            '--docs-figures', str(work / 'docs_figures')]
    records = bench.main(argv)
    return work, argv, records, readme


@pytest.mark.slow
def test_quick_grid_scores_every_method(quick_peta):
    work, _, records, _ = quick_peta
    assert sorted(r['row'] for r in records) == sorted(PETA_ROWS)
    for rec in records:
        metrics = rec['metrics']
        for key in bench.METRICS:
            assert np.isfinite(metrics[key]), (rec['row'], key)
            if key != 'mAP':
                assert np.isfinite(metrics[f'valthr_{key}']), (rec['row'], key)
                assert 0.1 <= metrics[f'valthr_{key}_thr'] <= 0.9
        assert 'oracle_micro_f1' in metrics
        assert osp.isfile(osp.join(work, 'grid', 'peta', 'seed0', rec['row'], 'val_scores.npz'))
        scores = np.load(osp.join(work, 'grid', 'peta', 'seed0', rec['row'],
                                  'test_scores.npz'))
        assert scores['scores'].shape == (32, 35)
        assert rec['train_s'] > 0
        assert rec['test_s'] > 0
    with open(osp.join(work, 'grid', 'results.json')) as f:
        saved = json.load(f)
    assert {p['method'] for p in saved['pretrain']} == PRETRAINED
    for pre in saved['pretrain']:
        assert pre['images_per_s'] > 0
        assert 0 <= pre['loader_wait'] <= 1
        assert osp.isfile(pre['checkpoint'])


@pytest.mark.slow
def test_quick_grid_table_and_readme(quick_peta, capsys):
    work, argv, _, readme = quick_peta
    # every unit is cached: a rerun launches no stock tool
    # (orchestration.run is the one way the scripts start a stock tool)
    original = bench.orch.run

    def refuse(cmd, *args, **kwargs):
        if 'tools/train.py' in cmd or 'tools/test.py' in cmd:
            raise AssertionError(f'cached unit ran again: {cmd}')
        return original(cmd, *args, **kwargs)

    bench.orch.run = refuse
    try:
        records = bench.main(argv)
    finally:
        bench.orch.run = original
    assert len(records) == len(PETA_ROWS)
    out = capsys.readouterr().out
    for row in PETA_ROWS:
        assert f'| {bench.ROWS[row][0]} | 0 | 0.5 |' in out
        assert f'| {bench.ROWS[row][0]} | 0 | val |' in out
    assert 'MulSupCon -> fine-tune vs BCE from scratch, mAP' in out
    text = readme.read_text()
    assert 'old table' not in text
    assert text.startswith('# x\n\nbefore\n')
    assert text.endswith('\nafter\n')
    assert '| MulSupCon -> fine-tune | 0 | 0.5 |' in text


@pytest.mark.slow
def test_quick_grid_writes_the_figures_of_its_main_runs(quick_peta):
    work = quick_peta[0]
    fig_dir = work / 'grid' / 'peta' / 'figures'
    with open(fig_dir / 'run_figures.json') as f:
        summary = json.load(f)
    assert summary['skipped'] == {}, summary['skipped']
    for name in ('class_embedding_heatmap.png', 'per_class_ap.png', 'training_curves.png'):
        assert (fig_dir / name).stat().st_size > 10_000, name
        assert (work / 'docs_figures' / f'peta_{name}').read_bytes() == \
            (fig_dir / name).read_bytes()
    mass = summary['mean_diagonal_mass']
    assert set(mass) == {'BCE', 'MulSupCon -> fine-tune'}
    assert all(1 / 35 - 1e-6 <= m <= 1 for m in mass.values())


@pytest.mark.slow
def test_quick_grid_miml(shared_data, tmp_path):
    records = bench.main(['--quick', '--threads', '1', '--data-root', shared_data,
                          '--datasets', 'miml',
                          '--rows', 'bce', 'blocksimsiam-linear', '--work-dir',
                          str(tmp_path)])
    assert sorted(r['row'] for r in records) == ['bce', 'blocksimsiam-linear']
    for rec in records:
        assert np.isfinite(rec['metrics']['mAP'])
        assert rec['metrics']['valthr_mA'] > 0


def test_non_finite_loss_stops_the_unit(tmp_path):
    log = tmp_path / '20261129_000000' / 'vis_data'
    log.mkdir(parents=True)
    lines = [{'loss': 0.5, 'time': 0.2, 'data_time': 0.01, 'iter': 1},
             {'loss': float('nan'), 'time': 0.2, 'data_time': 0.01, 'iter': 2}]
    (log / 'scalars.json').write_text('\n'.join(json.dumps(x) for x in lines) + '\n')
    with pytest.raises(RuntimeError, match=r'scalars.json line 2: non-finite training loss nan '
                       r'at iteration 2'):
        bench._train_log_stats(str(tmp_path))


def test_loader_wait_share(tmp_path):
    log = tmp_path / 'run' / 'vis_data'
    log.mkdir(parents=True)
    lines = [{'loss': 1.0, 'time': 5.0, 'data_time': 4.0},  # start-up window, left out
             {'loss': 1.0, 'time': 0.2, 'data_time': 0.02},
             {'loss': 1.0, 'time': 0.3, 'data_time': 0.08},
             {'lr': 0.1}]
    (log / 'scalars.json').write_text('\n'.join(json.dumps(x) for x in lines) + '\n')
    step, wait = bench._train_log_stats(str(tmp_path))
    assert step == pytest.approx(0.25)
    assert wait == pytest.approx(0.1 / 0.5)


def test_pretraining_timing_from_the_logs(tmp_path):
    """Images/s from the median step (a pause does not drag it down); a resumed unit's minutes
    (its record holds the wall time of the last invocation only) are median step x iterations,
    marked as an estimate."""
    rec = {'checkpoint': str(tmp_path / 'epoch_3.pth'), 'train_s': 10.0,
           'images_per_s': None}
    runs = (('20261129_000000', [(1, 9.0), (2, 2.0), (3, 2.0), (4, 300.0)]),  # 4: paused
            ('20261129_010000', [(5, 2.0), (6, 2.0)]))
    for run, steps in runs:
        log = tmp_path / run / 'vis_data'
        log.mkdir(parents=True)
        lines = [{'loss': 1.0, 'time': t, 'data_time': 0.0, 'iter': i} for i, t in steps]
        (log / 'scalars.json').write_text('\n'.join(json.dumps(x) for x in lines) + '\n')
        if run.endswith('000000'):
            mean, _ = bench._train_log_stats(str(tmp_path))
            rec['images_per_s'] = 64 / mean  # as _train records it
            seconds, estimated, ips = bench._pretrain_timing(rec)
            assert (seconds, estimated) == (10.0, False)  # one run: its wall time
            assert ips == pytest.approx(32.0)  # 64 images / the median step of 2 s
    seconds, estimated, _ = bench._pretrain_timing(rec)
    assert estimated
    assert seconds == pytest.approx(2.0 * 6)


def test_grid_seeds():
    args = bench.parse_args(['--seeds', '0', '1', '2'])
    units = bench.units(args)
    key_rows = [r for r, spec in bench.ROWS.items() if spec[4]]
    other_rows = [r for r, spec in bench.ROWS.items() if not spec[4]]
    for row in key_rows:
        assert [s for d, r, s in units if d == 'peta' and r == row] == [0, 1, 2]
    for row in other_rows:
        assert [s for d, r, s in units if d == 'peta' and r == row] == [0]
    assert {s for d, _, s in units if d == 'miml'} == {0}
    assert len([u for u in units if u[0] == 'miml']) == len(bench.ROWS)


def test_claim_check_uses_the_spread():
    recs = [{'row': 'mulsupcon-ft', 'metrics': {'mAP': v}} for v in (50., 52., 54.)]
    recs += [{'row': 'bce', 'metrics': {'mAP': v}} for v in (47., 48., 49.)]
    # diff 4.0 > larger std 2.0
    assert bench._beats(recs, 'mulsupcon-ft', 'bce', 'mAP').endswith('-> holds')
    recs += [{'row': 'bce-long', 'metrics': {'mAP': v}} for v in (45., 51., 57.)]
    # diff 1.0 < larger std 6.0
    assert bench._beats(recs, 'mulsupcon-ft', 'bce-long', 'mAP').endswith('-> does NOT hold')
    assert bench._beats(recs, 'mulsupcon-ft', 'bce-10pct', 'mAP') is None


def test_stale_cache_is_rerun_not_reused(tmp_path):
    """A cached unit is reused only while its config, options and pretraining are unchanged."""
    args = bench.parse_args(['--work-dir', str(tmp_path)])
    cfg = bench.config_path(args, bench.BCE, 'miml')
    opts = ['randomness.seed=0', 'train_cfg.max_epochs=15']
    key = bench._unit_key(args, cfg, opts)
    # machine-specific paths do not change the key; a schedule, the config or upstream do
    assert bench._unit_key(args, cfg, opts + ['train_dataloader.dataset.data_root=/x/']) == key
    assert bench._unit_key(args, cfg, ['randomness.seed=0', 'train_cfg.max_epochs=30']) != key
    other = bench.config_path(args, bench.LINEAR, 'miml')
    assert bench._unit_key(args, other, opts) != key
    assert bench._unit_key(args, cfg, opts, upstream='abc') != key

    work = tmp_path / 'miml' / 'seed0' / 'bce'
    work.mkdir(parents=True)
    (work / 'result.json').write_text(json.dumps({'unit_key': key, 'seed': 0}))
    assert bench._cached(args, str(work), key, cfg, opts)['seed'] == 0
    # a changed recipe: the old unit is moved aside (kept) and left out of the table
    assert bench._cached(args, str(work), 'another', cfg, opts) is None
    assert not work.exists()
    stale = list((tmp_path / 'miml' / 'seed0').glob('bce.stale-*'))
    assert len(stale) == 1
    assert (stale[0] / 'result.json').is_file()
    assert bench.collect(args) == ([], {})


def test_unkeyed_unit_adopted_only_when_its_configs_match(tmp_path):
    args = bench.parse_args(['--work-dir', str(tmp_path), '--adopt-unkeyed'])
    cfg = bench.config_path(args, bench.BCE, 'peta')
    opts = ['randomness.seed=0']
    key = bench._unit_key(args, cfg, opts)
    work = tmp_path / 'peta' / 'seed0' / 'bce'
    work.mkdir(parents=True)
    (work / 'result.json').write_text(json.dumps({'commit': bench._commit(), 'seed': 0}))
    # the configs at HEAD are the configs of this checkout's configs/ (unchanged files)
    status = subprocess.run(['git', 'status', '--porcelain', 'configs'], cwd=REPO_ROOT,
                            capture_output=True, text=True).stdout
    if status.strip():
        pytest.skip('configs/ has uncommitted changes: HEAD differs from the checkout')
    rec = bench._cached(args, str(work), key, cfg, opts)
    assert rec['unit_key'] == key
    assert json.loads((work / 'result.json').read_text())['unit_key'] == key
    # without the opt-in an unkeyed unit is stale
    (work / 'result.json').write_text(json.dumps({'commit': bench._commit(), 'seed': 0}))
    strict = bench.parse_args(['--work-dir', str(tmp_path)])
    assert bench._cached(strict, str(work), key, cfg, opts) is None
