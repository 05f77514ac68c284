# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Every image method of the plugin on real multi-label photos (PETA, MIML scene), one table.

Each unit goes through the stock ``tools/train.py`` / ``tools/test.py`` with the shipped configs
of ``configs/real_photos/``:

1. pretrainings (MulSupCon and its ALL / ANY ablations, stock mmpretrain MoCo v2 and SimSiam,
   BlockSimSiam, BlockMoCo, a Lightly loss in MultiLabelMoCo) and MulCon's two stages;
2. downstream runs: BCE from scratch (at the fine-tune's epochs and at pretraining + fine-tune
   epochs), fine-tune and linear probe of pretrained backbones, and fine-tune on a seeded 10 %
   of the training labels (label efficiency, after pretraining on all training images), each
   keeping the checkpoint of best validation mAP;
3. ``tools/test.py`` of that checkpoint on the validation and the test split (scores dumped),
   scored by ``MultiLabelPaperMetric`` at the fixed threshold 0.5, at thresholds chosen on the
   validation split (``val_chosen_metrics``) and, in the JSON only, with the papers' oracle
   sweep on the test split.

Every unit is cached in ``--work-dir`` (a finished unit writes ``result.json``; an interrupted
pretraining resumes from its last checkpoint), so the grid can be spread over sessions and
machines: rerun the same command. The script writes ``<work-dir>/results.json`` (every unit:
metrics, wall time, images/s, data-loader wait) and prints one table per data set (mean +-
sample std over the seeds that have finished), the wall time of each run, and the paper claims
checked on these numbers. ``--readme README.md`` rewrites the README's block between
``<!-- real-photos:begin -->`` and ``<!-- real-photos:end -->`` with the same output.

    # the whole grid (hours on 2 CPU cores; seeds 0 1 2 for the key rows, 0 for the rest)
    python tools/benchmarks/benchmark_real_photos.py --data-root ../shared/data
    # only some rows / seeds first
    python tools/benchmarks/benchmark_real_photos.py --data-root ../shared/data \\
        --datasets peta --seeds 0 --rows bce mulsupcon-ft
    # the whole grid, tiny (64 images, 1 epoch): checks every unit end to end
    python tools/benchmarks/benchmark_real_photos.py --data-root ../shared/data --quick
"""
import argparse
import glob
import json
import os
import os.path as osp
import pickle
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import orchestration as orch

REPO_ROOT = orch.REPO_ROOT
sys.path.insert(0, REPO_ROOT)
from mlcl_plugin.evaluation.metrics.multi_label_paper import (  # noqa: E402
    MultiLabelPaperMetric,
    val_chosen_metrics,
)

CFG = 'configs/real_photos'
DATASETS = {
    'peta': dict(folder='peta', num_classes=35, name='PETA (random split)',
                 val=['split_file=splits/random_val.txt'],
                 test=['split_file=splits/random_test.txt']),
    'miml': dict(folder='miml_scene', num_classes=5, name='MIML scene',
                 val=['split_file=splits/train.txt', 'subset=val', 'val_fraction=0.2',
                      'val_seed=0'],
                 test=['split_file=splits/test.txt']),
}
# epochs of each recipe: CPU (configs/real_photos/*.py) and GPU (configs/real_photos/gpu/*.py)
EPOCHS = {'cpu': dict(pretrain=15, downstream=15, mulcon2=5),
          'gpu': dict(pretrain=100, downstream=30, mulcon2=10)}
# the GPU recipe's config of each CPU config
GPU_CONFIG = {
    'mulsupcon_resnet18-w16_1xb64-adam-15e': 'gpu/mulsupcon_resnet50_1xb256-adam-100e',
    'mulsupcon-all_resnet18-w16_1xb64-adam-15e': 'gpu/mulsupcon-all_resnet50_1xb256-adam-100e',
    'mulsupcon-any_resnet18-w16_1xb64-adam-15e': 'gpu/mulsupcon-any_resnet50_1xb256-adam-100e',
    'mocov2_resnet18-w16_1xb64-adam-15e': 'gpu/mocov2_resnet50_1xb256-adam-100e',
    'blockmoco_resnet18-w16_1xb64-adam-15e': 'gpu/blockmoco_resnet50_1xb256-adam-100e',
    'simsiam_resnet18-w16_1xb64-sgd-15e': 'gpu/simsiam_resnet50_1xb256-sgd-100e',
    'blocksimsiam_resnet18-w16_1xb64-sgd-15e': 'gpu/blocksimsiam_resnet50_1xb256-sgd-100e',
    'mlmoco-lightly-ntxent_resnet18-w16_1xb64-adam-15e':
        'gpu/mlmoco-lightly-ntxent_resnet50_1xb256-adam-100e',
    'mulcon-stage1_resnet18-w16_1xb64-adam-15e': 'gpu/mulcon-stage1_resnet50_1xb256-adam-30e',
    'bce_resnet18-w16_1xb64-adam-15e': 'gpu/bce_resnet50_1xb256-adam-30e',
    'benchmarks/resnet18-w16_finetune-1xb64-adam-15e': 'gpu/resnet50_finetune-1xb256-adam-30e',
    'benchmarks/resnet18-w16_linear-1xb64-adam-15e': 'gpu/resnet50_linear-1xb256-adam-30e',
    'mulcon-stage2_resnet18-w16_1xb32-sgd-5e': 'gpu/mulcon-stage2_resnet50_1xb128-sgd-10e',
}
# pretraining key -> (config, printed name)
PRETRAIN = {
    'mulsupcon': ('mulsupcon_resnet18-w16_1xb64-adam-15e_{ds}.py', 'MulSupCon'),
    'all': ('mulsupcon-all_resnet18-w16_1xb64-adam-15e_{ds}.py', 'MulSupCon ALL'),
    'any': ('mulsupcon-any_resnet18-w16_1xb64-adam-15e_{ds}.py', 'MulSupCon ANY'),
    'mocov2': ('mocov2_resnet18-w16_1xb64-adam-15e_{ds}.py', 'MoCo v2 (stock)'),
    'blockmoco': ('blockmoco_resnet18-w16_1xb64-adam-15e_{ds}.py', 'BlockMoCo'),
    'simsiam': ('simsiam_resnet18-w16_1xb64-sgd-15e_{ds}.py', 'SimSiam (stock)'),
    'blocksimsiam': ('blocksimsiam_resnet18-w16_1xb64-sgd-15e_{ds}.py', 'BlockSimSiam'),
    'lightly': ('mlmoco-lightly-ntxent_resnet18-w16_1xb64-adam-15e_{ds}.py',
                'Lightly NTXent (memory bank)'),
    'mulcon1': ('mulcon-stage1_resnet18-w16_1xb64-adam-15e_{ds}.py', 'MulCon stage 1'),
}
BCE = f'{CFG}/bce_resnet18-w16_1xb64-adam-15e_{{ds}}.py'
FINETUNE = f'{CFG}/benchmarks/resnet18-w16_finetune-1xb64-adam-15e_{{ds}}.py'
LINEAR = f'{CFG}/benchmarks/resnet18-w16_linear-1xb64-adam-15e_{{ds}}.py'
MULCON2 = f'{CFG}/mulcon-stage2_resnet18-w16_1xb32-sgd-5e_{{ds}}.py'

# row -> (printed name, pretraining key or None, downstream config, extra options, key row)
# key rows run every seed of --seeds; the others only --other-seeds (default: 0)
ROWS = {
    'bce': ('BCE from scratch', None, BCE, [], True),
    'bce-long': ('BCE from scratch, pretrain + fine-tune epochs', None, BCE, ['long'], True),
    'mulsupcon-ft': ('MulSupCon -> fine-tune', 'mulsupcon', FINETUNE, [], True),
    'mulsupcon-linear': ('MulSupCon -> linear probe', 'mulsupcon', LINEAR, [], True),
    'simsiam-linear': ('SimSiam -> linear probe', 'simsiam', LINEAR, [], True),
    'blocksimsiam-linear': ('BlockSimSiam -> linear probe', 'blocksimsiam', LINEAR, [], True),
    'bce-10pct': ('BCE from scratch, 10 % labels', None, BCE, ['10pct'], True),
    'simsiam-ft-10pct': ('SimSiam -> fine-tune, 10 % labels', 'simsiam', FINETUNE, ['10pct'],
                         True),
    'blocksimsiam-ft-10pct': ('BlockSimSiam -> fine-tune, 10 % labels', 'blocksimsiam',
                              FINETUNE, ['10pct'], True),
    'mocov2-linear': ('MoCo v2 -> linear probe', 'mocov2', LINEAR, [], False),
    'blockmoco-linear': ('BlockMoCo -> linear probe', 'blockmoco', LINEAR, [], False),
    'all-ft': ('MulSupCon ALL -> fine-tune', 'all', FINETUNE, [], False),
    'any-ft': ('MulSupCon ANY -> fine-tune', 'any', FINETUNE, [], False),
    'lightly-linear': ('Lightly NTXent -> linear probe', 'lightly', LINEAR, [], False),
    'mocov2-ft-10pct': ('MoCo v2 -> fine-tune, 10 % labels', 'mocov2', FINETUNE, ['10pct'],
                        False),
    'blockmoco-ft-10pct': ('BlockMoCo -> fine-tune, 10 % labels', 'blockmoco', FINETUNE,
                           ['10pct'], False),
    'mulcon': ('MulCon (stage 1 + 2, its own classifier)', 'mulcon1', MULCON2, ['mulcon'],
               False),
}
METRICS = ('mAP', 'mA', 'micro_f1', 'macro_f1', 'example_f1', 'hamming_accuracy')
SHORT = {'mAP': 'mAP', 'mA': 'mA', 'micro_f1': 'miF1', 'macro_f1': 'maF1',
         'example_f1': 'ebF1', 'hamming_accuracy': 'HA'}
README_BEGIN = '<!-- real-photos:begin -->'
README_END = '<!-- real-photos:end -->'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=osp.join(REPO_ROOT, 'data'),
                        help='folder holding peta/ and miml_scene/ (e.g. ../shared/data)')
    parser.add_argument('--datasets', nargs='+', default=['peta', 'miml'],
                        choices=sorted(DATASETS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2],
                        help='seeds of the key rows (PETA); MIML runs --other-seeds')
    parser.add_argument('--other-seeds', nargs='+', type=int, default=[0],
                        help='seeds of the other rows, and of every MIML row')
    parser.add_argument('--rows', nargs='+', default=list(ROWS), choices=list(ROWS))
    parser.add_argument('--recipe', default='cpu', choices=sorted(EPOCHS),
                        help='cpu: quarter-width ResNet-18, 128 x 64 / 112 px; gpu: the '
                        "papers' scale, ResNet-50, 256 x 128 / 224 px, batch 256")
    parser.add_argument('--pretrain-epochs', type=int, default=None,
                        help="override the recipe's pretraining epochs (the table says so)")
    parser.add_argument('--downstream-epochs', type=int, default=None,
                        help="override the recipe's downstream epochs")
    parser.add_argument('--quick', action='store_true',
                        help='tiny grid: 64 training / 32 val / 32 test images, 1 epoch')
    parser.add_argument('--work-dir', default=osp.join(REPO_ROOT, 'work_dirs',
                                                       'benchmark_real_photos'))
    parser.add_argument('--threads', type=int, default=2, help='torch threads per run')
    parser.add_argument('--adopt-unkeyed', action='store_true',
                        help='keep cached units written before units carried a config key '
                        'when the configs at their commit give the current key')
    parser.add_argument('--no-run', action='store_true',
                        help='run nothing: print the table of the finished units')
    parser.add_argument('--readme', default=None,
                        help='rewrite the marked real-photos block of this README')
    parser.add_argument('--no-figures', action='store_true',
                        help='skip the figures of the main runs (<work-dir>/<data set>/figures)')
    parser.add_argument('--docs-figures', default=None,
                        help='also copy those figures here as <data set>_<figure>.png '
                        '(docs/figures)')
    args = parser.parse_args(argv)
    epochs = dict(EPOCHS[args.recipe])
    if args.pretrain_epochs:
        epochs['pretrain'] = args.pretrain_epochs
    if args.downstream_epochs:
        epochs['downstream'] = args.downstream_epochs
    if args.quick:
        epochs = dict(pretrain=1, downstream=1, mulcon2=1)
    args.epochs = epochs
    return args


def config_path(args, template, ds):
    """The config of a CPU config template (``.../{ds}.py``) in the chosen recipe."""
    rel = template.format(ds=ds)
    if rel.startswith(CFG + '/'):
        rel = rel[len(CFG) + 1:]
    if args.recipe == 'gpu':
        stem = rel[:-len(f'_{ds}.py')]
        rel = f'{GPU_CONFIG[stem]}_{ds}.py'
    return f'{CFG}/{rel}'


# --------------------------------------------------------------------------------------------
# running one unit


_atomic_json = orch.atomic_write_json


def _run(cmd, log_path, env):
    """A stock tool's run (:func:`orchestration.run`, without echo: the log has the command)."""
    return orch.run(cmd, log_path, env, echo=False)


def _loader_options(args, ds, loaders=('train_dataloader', 'val_dataloader',
                                       'test_dataloader')):
    root = osp.join(osp.abspath(args.data_root), DATASETS[ds]['folder'])
    if not osp.isdir(root):
        raise FileNotFoundError(f'{root} not found: give --data-root, the folder that holds '
                                f'{DATASETS[ds]["folder"]}/')
    opts = [f'{loader}.dataset.data_root={root}/' for loader in loaders]
    if args.quick:  # the first images of each split, 1 epoch
        sizes = {'train_dataloader': 64, 'val_dataloader': 32, 'test_dataloader': 32}
        opts += [f'{loader}.dataset.indices={sizes[loader]}' for loader in loaders]
        opts += [f'{loader}.batch_size=16' for loader in loaders]
    return opts


def _epochs_options(epochs):
    return [f'train_cfg.max_epochs={epochs}', f'param_scheduler.0.T_max={epochs}',
            f'param_scheduler.0.end={epochs}']


_train_log_stats = orch.train_log_stats


def _train(args, cfg, work, opts, env, batch_size):
    """Train (resuming an interrupted run); return wall seconds, images/s, loader wait."""
    resume = ['--resume'] if osp.isfile(osp.join(work, 'last_checkpoint')) else []
    seconds = _run([sys.executable, 'tools/train.py', cfg, '--work-dir', work, *resume,
                    '--cfg-options', *opts], osp.join(work, 'train.log'), env)
    step, wait = _train_log_stats(work)
    return {'train_s': seconds, 'images_per_s': batch_size / step if step else None,
            'loader_wait': wait}


def pretrain(args, ds, key, seed, env):
    """One pretraining (cached); returns its checkpoint and its timing record."""
    work = osp.join(args.work_dir, ds, f'seed{seed}', f'pretrain_{key}')
    cfg = config_path(args, PRETRAIN[key][0], ds)
    epochs = args.epochs['downstream' if key == 'mulcon1' else 'pretrain']
    opts = [f'randomness.seed={seed}', f'default_hooks.checkpoint.interval={min(5, epochs)}']
    opts += _epochs_options(epochs)
    batch = 256 if args.recipe == 'gpu' else 64
    if key == 'mulcon1':  # a supervised classifier with a validation loop
        opts += _loader_options(args, ds)
        if args.quick:
            batch = 16
    else:
        opts += _loader_options(args, ds, ('train_dataloader', ))
        if args.quick:
            batch = 16
            # the queue must stay a multiple of the batch (16 images, 4 block views each)
            if key in ('mulsupcon', 'all', 'any', 'mocov2', 'blockmoco', 'lightly'):
                opts.append('model.queue_len=64')
            if key == 'lightly':
                opts.append('model.head.loss.memory_bank_size=[64,128]')
    unit_key = _unit_key(args, cfg, opts)
    rec = _cached(args, work, unit_key, cfg, opts)
    if rec is not None:
        return rec['checkpoint'], rec
    os.makedirs(work, exist_ok=True)
    rec = _train(args, cfg, work, opts, env, batch)
    if key == 'mulcon1':
        best = sorted(glob.glob(osp.join(work, 'best_multi-label_mAP_epoch_*.pth')))
        ckpt = best[-1] if best else None
    else:
        ckpt = osp.join(work, f'epoch_{epochs}.pth')
    if not ckpt or not osp.isfile(ckpt):
        raise RuntimeError(f'pretraining {key} did not write its checkpoint in {work}')
    rec.update(checkpoint=ckpt, epochs=epochs, config=cfg, seed=seed, unit_key=unit_key,
               **_provenance(args))
    _atomic_json(osp.join(work, 'result.json'), rec)
    return ckpt, rec


def _unit_key(args, cfg, opts, upstream=None, root=REPO_ROOT):
    """:func:`orchestration.unit_key` (``args`` kept for the callers' uniform signature)."""
    return orch.unit_key(cfg, opts, upstream, root=root)


def _key_at_commit(args, commit, cfg, opts, upstream):
    """The unit key computed from the repository's configs as they were at ``commit``."""
    tmp = tempfile.mkdtemp(prefix='unit_key_')
    try:
        archive = subprocess.run(['git', 'archive', commit, 'configs'], cwd=REPO_ROOT,
                                 capture_output=True, check=True).stdout
        subprocess.run(['tar', '-x', '-C', tmp], input=archive, check=True)
        return _unit_key(args, cfg, opts, upstream, root=tmp)
    except (OSError, subprocess.CalledProcessError):
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _cached(args, work, unit_key, cfg, opts, upstream=None):
    """The cached record of a unit when it matches ``unit_key``; else None (run it again).

    A stale unit's folder is moved aside (``<unit>.stale-<time>``), never deleted. With
    ``--adopt-unkeyed``, a record written before units carried keys is kept when the key
    computed from the configs at its recorded commit equals the current one.
    """
    done = osp.join(work, 'result.json')
    if not osp.isfile(done):
        return None
    with open(done) as f:
        rec = json.load(f)
    if rec.get('unit_key') is None and args.adopt_unkeyed and rec.get('commit'):
        # a downstream unit is adopted only if its pretraining is still the one it started
        # from (that checkpoint is older than this result), whatever the configs say
        same_upstream = True
        if rec.get('pretrain_checkpoint'):
            ckpt = rec['pretrain_checkpoint']
            same_upstream = (osp.isfile(ckpt)
                             and osp.getmtime(ckpt) < osp.getmtime(done))
        if same_upstream and _key_at_commit(args, rec['commit'], cfg, opts,
                                            upstream) == unit_key:
            rec.update(unit_key=unit_key, adopted_at_commit=_commit())
            _atomic_json(done, rec)
    return orch.cached_record(work, unit_key)


def _provenance(args):
    """Where a unit ran: the commit, the recipe and the machine (for its wall time)."""
    return dict(commit=_commit(), recipe=args.recipe, quick=args.quick,
                machine=f'{platform.machine()}, {os.cpu_count()} CPUs, {args.threads} threads')


def _dump_scores(args, ds, cfg, ckpt, split, work, env):
    """``tools/test.py`` of ``ckpt`` on the val or test split; returns (scores, targets)."""
    out = osp.join(work, f'{split}_pred.pkl')
    split_opts = [f'test_dataloader.dataset.{o}' for o in DATASETS[ds][split]]
    opts = _loader_options(args, ds, ('test_dataloader', )) + split_opts
    opts += ['model.backbone.init_cfg=None']  # the checkpoint holds the weights
    seconds = _run([sys.executable, 'tools/test.py', cfg, ckpt, '--work-dir',
                    osp.join(work, f'test_{split}'), '--out', out, '--out-item', 'pred',
                    '--cfg-options', *opts], osp.join(work, f'test_{split}.log'), env)
    # our own run's output, written a moment ago by mmengine's DumpResults
    with open(out, 'rb') as f:
        samples = pickle.load(f)
    num_classes = DATASETS[ds]['num_classes']
    scores = np.stack([np.asarray(s['pred_score'], dtype=np.float64) for s in samples])
    targets = np.zeros((len(samples), num_classes), dtype=np.int64)
    for i, s in enumerate(samples):
        targets[i, np.asarray(s['gt_label'], dtype=np.int64)] = 1
    np.savez_compressed(osp.join(work, f'{split}_scores.npz'), scores=scores, targets=targets)
    os.remove(out)
    return scores, targets, seconds


def downstream(args, ds, row, seed, ckpt, env, upstream_key=None):
    """Train one downstream row (cached), test its best checkpoint, score it."""
    name, _, cfg_tpl, extra, _ = ROWS[row]
    cfg = config_path(args, cfg_tpl, ds)
    work = osp.join(args.work_dir, ds, f'seed{seed}', row)
    epochs = args.epochs['downstream']
    if 'long' in extra:  # as many epochs as pretraining and fine-tuning together
        epochs = args.epochs['pretrain'] + args.epochs['downstream']
    if 'mulcon' in extra:
        epochs = args.epochs['mulcon2']
    opts = [f'randomness.seed={seed}'] + _epochs_options(epochs) + _loader_options(args, ds)
    if 'mulcon' in extra:
        opts.append(f'load_from={ckpt}')
        opts.append('default_hooks.checkpoint.save_best=multi-label/mAP')
    elif ckpt is not None:
        opts.append(f'model.backbone.init_cfg.checkpoint={ckpt}')
    if '10pct' in extra:
        # the same seeded 10 % of the training labels for every method of a seed
        opts += ['train_dataloader.dataset.label_fraction=0.1',
                 f'train_dataloader.dataset.label_seed={seed}']
    batch = 64 if args.recipe == 'cpu' else 256
    batch = 16 if args.quick else (batch // 2 if 'mulcon' in extra else batch)
    unit_key = _unit_key(args, cfg, opts, upstream=upstream_key)
    rec = _cached(args, work, unit_key, cfg, opts, upstream_key)
    if rec is not None:
        return rec
    os.makedirs(work, exist_ok=True)
    rec = _train(args, cfg, work, opts, env, batch)
    best = sorted(glob.glob(osp.join(work, 'best_multi-label_mAP_epoch_*.pth')))
    if not best:
        raise RuntimeError(f'{name}: no best checkpoint in {work}')
    val_scores, val_targets, val_s = _dump_scores(args, ds, cfg, best[-1], 'val', work, env)
    test_scores, test_targets, test_s = _dump_scores(args, ds, cfg, best[-1], 'test', work,
                                                     env)
    metrics = MultiLabelPaperMetric.calculate(test_scores, test_targets, thr=0.5, oracle=True,
                                              attributes=True)
    metrics.update(val_chosen_metrics(val_scores, val_targets, test_scores, test_targets))
    metrics['val_mAP'] = MultiLabelPaperMetric.calculate(val_scores, val_targets)['mAP']
    rec.update(row=row, seed=seed, dataset=ds, config=cfg, epochs=epochs,
               best_checkpoint=osp.basename(best[-1]), pretrain_checkpoint=ckpt,
               test_s=val_s + test_s, metrics=metrics, unit_key=unit_key,
               **_provenance(args))
    _atomic_json(osp.join(work, 'result.json'), rec)
    return rec


# --------------------------------------------------------------------------------------------
# the table


_fmt = orch.mean_std


def _minutes(values):
    values = [v for v in values if v]
    return f'{np.mean(values) / 60:.1f}' if values else '-'


def _pretrain_timing(rec):
    """Training seconds, whether they are an estimate, and images/s of a pretraining unit.

    Images/s come from the median logged step time: a run paused for a while (another job had
    the machine) or slowed for a few minutes keeps its steady speed. A unit that was
    interrupted and resumed ran in several invocations, and its record holds the wall time of
    the last one only; its time is then estimated as median step time x the iterations it
    trained (no checkpointing or start-up included). A run that was paused keeps its wall time
    (the README says so where it happened).
    """
    work = osp.dirname(rec.get('checkpoint') or '')
    files = orch.scalars_files(work) if work else []
    steps, iters = [], 0
    for entry in (orch.read_scalars(work) if files else []):
        if 'loss' in entry and 'time' in entry:
            steps.append(entry['time'])
            iters = max(iters, entry.get('iter', 0))
    ips = rec.get('images_per_s')
    if len(steps) < 3:
        return rec['train_s'], False, ips
    median = float(np.median(steps[1:]))  # the first window holds the workers' start-up
    if ips:  # the record's images/s = batch / mean step of these same logs
        mean, _ = orch.train_log_stats(work)
        ips = round(ips * mean) / median
    if len(files) < 2 or not iters:
        return rec['train_s'], False, ips
    return median * iters, True, ips


def table(ds, records, pretrains):
    """Markdown lines of one data set's table from the finished units."""
    lines = [f'#### {DATASETS[ds]["name"]}: test split, mean +- sample std over the seeds',
             '',
             '| run | seeds | thr | ' + ' | '.join(SHORT[m] for m in METRICS)
             + ' | pretrain min | downstream min | pretrain img/s | loader wait |',
             '|' + ' --- |' * (len(METRICS) + 7)]
    for row, (name, key, _, _, _) in ROWS.items():
        recs = [r for r in records if r['row'] == row]
        if not recs:
            continue
        seeds = sorted(r['seed'] for r in recs)
        pre = [pretrains.get((ds, key, s)) for s in seeds] if key else []
        timing = [_pretrain_timing(p) for p in pre if p]
        pre_min = _minutes([t for t, _, _ in timing])
        pre_min = ('~' if any(est for _, est, _ in timing) else '') + pre_min
        down_min = _minutes([r['train_s'] + r['test_s'] for r in recs])
        ips = [i for _, _, i in timing if i]
        wait = [p['loader_wait'] for p in pre if p and p.get('loader_wait') is not None]
        speed = f'{np.mean(ips):.0f}' if ips else '-'
        wait_s = f'{100 * np.mean(wait):.0f} %' if wait else '-'
        for proto, prefix in (('0.5', ''), ('val', 'valthr_')):
            cells = [_fmt([r['metrics'][m if m == 'mAP' else prefix + m] for r in recs])
                     for m in METRICS]
            lines.append(f'| {name} | {",".join(map(str, seeds))} | {proto} | '
                         + ' | '.join(cells) + f' | {pre_min} | {down_min} | {speed} | '
                         f'{wait_s} |')
    return lines


def _values(records, row, metric):
    return [r['metrics'][metric] for r in records if r['row'] == row]


def _beats(records, a, b, metric):
    """'a > b by more than one std' check on the finished seeds; None if a row is missing."""
    va, vb = _values(records, a, metric), _values(records, b, metric)
    if not va or not vb:
        return None
    diff = np.mean(va) - np.mean(vb)
    if len(va) > 1 and len(vb) > 1:
        std = max(np.std(va, ddof=1), np.std(vb, ddof=1))
        held = diff > std
        how = f'larger std {std:.1f}, seeds {len(va)}/{len(vb)}'
    else:  # one seed: no spread to compare against
        held = diff > 0
        how = 'single seed'
    return (f'{ROWS[a][0]} vs {ROWS[b][0]}, {SHORT.get(metric.replace("valthr_", ""), metric)}'
            f'{" (val thr)" if metric.startswith("valthr_") else ""}: {np.mean(va):.1f} vs '
            f'{np.mean(vb):.1f} ({diff:+.1f}; {how}) -> {"holds" if held else "does NOT hold"}')


CLAIMS = [
    ('mulsupcon-ft', 'bce', 'mAP'), ('mulsupcon-ft', 'bce', 'valthr_mA'),
    ('mulsupcon-ft', 'bce-long', 'mAP'), ('mulsupcon-ft', 'bce-long', 'valthr_mA'),
    ('blocksimsiam-linear', 'simsiam-linear', 'mAP'),
    ('blockmoco-linear', 'mocov2-linear', 'mAP'),
    ('simsiam-ft-10pct', 'bce-10pct', 'mAP'), ('blocksimsiam-ft-10pct', 'bce-10pct', 'mAP'),
    ('mocov2-ft-10pct', 'bce-10pct', 'mAP'), ('blockmoco-ft-10pct', 'bce-10pct', 'mAP'),
]


def report(args, downstream_recs, pretrain_recs, wall_s, commit):
    backbone = ('ResNet-18 at quarter width' if args.recipe == 'cpu' else 'ResNet-50')
    lines = [f'Real-photo benchmark (table made at commit `{commit}`), '
             f'{"QUICK (tiny) " if args.quick else ""}{args.recipe.upper()} recipe: {backbone} '
             f'from scratch, pretraining {args.epochs["pretrain"]} epochs, '
             f'downstream {args.epochs["downstream"]} epochs (best validation mAP '
             f'checkpoint). thr 0.5 = fixed threshold; val = each metric at the threshold '
             f'(0.1 ... 0.9) that maximises it on the validation split. mAP needs no threshold. '
             f"Minutes are wall time on this run's machine (~: a pretraining interrupted and "
             f'resumed, its minutes estimated as median logged step time x iterations); img/s '
             f'(from the median step) and loader wait (share of the step spent waiting for '
             f'data) are of the pretraining.', '']
    for ds in args.datasets:
        recs = [r for r in downstream_recs if r['dataset'] == ds]
        if not recs:
            continue
        lines += table(ds, recs, pretrain_recs) + ['']
        checks = [c for c in (_beats(recs, *claim) for claim in CLAIMS) if c]
        if checks:
            lines += [f'Claims on {DATASETS[ds]["name"]}:', ''] + [f'- {c}' for c in checks]
            lines.append('')
    commits = sorted({r.get('commit', '?') for r in downstream_recs}
                     | {r.get('commit', '?') for r in pretrain_recs.values()})
    machines = sorted({r.get('machine', '?') for r in downstream_recs})
    lines.append(f'Units ran at commit(s) {", ".join(commits)} on {"; ".join(machines)}. '
                 f'Wall time of this invocation: {wall_s / 60:.1f} min.')
    return lines


def _commit():
    return orch.git_commit()


def update_readme(path, lines, begin=README_BEGIN, end=README_END):
    """Replace the block between the ``begin`` and ``end`` markers of ``path`` atomically."""
    orch.replace_marked_block(path, begin, end, lines)


def units(args):
    """(data set, row, seed) of the grid, key rows of every seed first."""
    out = []
    for ds in args.datasets:
        for seed in sorted(set(args.seeds) | set(args.other_seeds)):
            for row in args.rows:
                key_row = ROWS[row][4]
                seeds = args.seeds if key_row and ds == 'peta' else args.other_seeds
                if seed in seeds:
                    out.append((ds, row, seed))
    return out


def collect(args):
    """The finished units in the work dir (any seed), for the table."""
    downs, pres = [], {}
    for path in glob.glob(osp.join(args.work_dir, '*', 'seed*', '*', 'result.json')):
        with open(path) as f:
            rec = json.load(f)
        parts = path.split(os.sep)
        ds, unit = parts[-4], parts[-2]
        if '.stale-' in unit:  # replaced by a rerun with the current configs
            continue
        if ds not in args.datasets:
            continue
        if unit.startswith('pretrain_'):
            pres[(ds, unit[len('pretrain_'):], rec['seed'])] = rec
        elif rec.get('row') in args.rows:
            downs.append(rec)
    return downs, pres


# the main runs whose figures the benchmark draws: BCE against MulSupCon -> fine-tune (the
# class-embedding heatmap of MulSupCon's Figure 3 and the per-class AP difference), and the
# training curves of those two and of the MulSupCon pretraining
FIGURE_RUNS = (('BCE', 'bce'), ('MulSupCon -> fine-tune', 'mulsupcon-ft'))


def write_figures(args, downstream_recs):
    """Figures of each data set's main runs (lowest seed that has both) into its folder.

    Returns:
        dict: data set -> the summary of :func:`mlcl_plugin.analysis.write_run_figures`.
    """
    from mlcl_plugin.analysis import write_run_figures
    out = {}
    for ds in args.datasets:
        by_seed = {}
        for rec in downstream_recs:
            if rec['dataset'] == ds and rec['row'] in dict(FIGURE_RUNS).values():
                by_seed.setdefault(rec['seed'], {})[rec['row']] = rec
        seeds = sorted(s for s, recs in by_seed.items() if len(recs) == len(FIGURE_RUNS))
        if not seeds:
            print(f'[figures] {ds}: no seed has both of {[r for _, r in FIGURE_RUNS]}; skipped')
            continue
        seed = seeds[0]
        seed_dir = osp.join(args.work_dir, ds, f'seed{seed}')
        configs, ckpts, logs = {}, {}, {}
        for name, row in FIGURE_RUNS:
            rec, work = by_seed[seed][row], osp.join(seed_dir, row)
            # tools/train.py saved the resolved config (data root, quick subsets) beside it
            configs[name] = osp.join(work, osp.basename(rec['config']))
            ckpts[name] = osp.join(work, rec['best_checkpoint'])
            logs[name] = work
        logs['MulSupCon pretraining'] = osp.join(seed_dir, 'pretrain_mulsupcon')
        fig_dir = osp.join(args.work_dir, ds, 'figures')
        # PETA's embeddings share one large mean direction: centring makes the heatmap legible
        out[ds] = write_run_figures(fig_dir, config=configs, checkpoints=ckpts, log_dirs=logs,
                                    center=(ds == 'peta'), metrics=('mAP', ), dpi=80)
        out[ds]['seed'] = seed
        if args.docs_figures:
            os.makedirs(args.docs_figures, exist_ok=True)
            for fig in out[ds]['figures'].values():
                shutil.copyfile(fig, osp.join(args.docs_figures,
                                              f'{ds}_{osp.basename(fig)}'))
    return out


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    start = time.perf_counter()
    if not args.no_run:
        for ds, row, seed in units(args):
            key = ROWS[row][1]
            ckpt = None
            if key is not None:
                ckpt, pre = pretrain(args, ds, key, seed, env)
                print(f'[{ds} seed {seed}] pretraining {key}: {pre["train_s"] / 60:.1f} min',
                      flush=True)
            rec = downstream(args, ds, row, seed, ckpt, env,
                             upstream_key=pre['unit_key'] if key is not None else None)
            print(f'[{ds} seed {seed}] {ROWS[row][0]}: ' + '  '.join(
                f'{SHORT[m]} {rec["metrics"][m]:.1f}' for m in METRICS)
                + f'  ({(rec["train_s"] + rec["test_s"]) / 60:.1f} min)', flush=True)
    downs, pres = collect(args)
    lines = report(args, downs, pres, time.perf_counter() - start, _commit())
    print('\n'.join(lines))
    _atomic_json(osp.join(args.work_dir, 'results.json'), {
        'args': vars(args), 'commit': _commit(), 'downstream': downs,
        'pretrain': [dict(rec, dataset=k[0], method=k[1]) for k, rec in pres.items()]})
    if args.readme:
        update_readme(args.readme, lines)
    if not args.no_figures:
        write_figures(args, downs)
    return downs


if __name__ == '__main__':
    main()
