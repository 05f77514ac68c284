# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Quick, validation-only probe of pretraining settings on the real-photo sets.

Tuning a pretraining on the full benchmark protocol (pretrain, fine-tune, test) costs half an
hour per setting on 2 CPU cores. This probe answers the first question, "does this setting
learn anything at all?", in a few minutes: each variant (a shipped pretraining config plus
``--cfg-options`` overrides) pretrains for a few epochs through the stock ``tools/train.py``,
then a ridge regression on the frozen, average-pooled backbone features of a subset of the
training split predicts the labels of the **validation** split; the score is the validation
mAP (macro, sklearn) at the best of four ridge penalties. The test split is never read. A
randomly initialised backbone gives the floor every variant must clear.

Each variant is cached in ``<work-dir>/<data set>/<variant>/probe.json`` keyed like the
benchmark's units (resolved config and options), so reruns only compute what changed.

    python tools/benchmarks/probe_pretraining.py --data-root ../shared/data --datasets peta \\
        --work-dir work_dirs/probe_pretraining --readme configs/real_photos/README.md
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark_real_photos as bench

REPO_ROOT = bench.REPO_ROOT
README_BEGIN = '<!-- probe-pretraining:begin -->'
README_END = '<!-- probe-pretraining:end -->'
MULSUPCON = 'mulsupcon_resnet18-w16_1xb64-adam-15e_{ds}.py'
# the view pipeline of the two-view MultiView transform of a MoCo-style pretraining config
VIEW = 'train_dataloader.dataset.pipeline.1.transforms.0'
# name -> (config pattern, extra --cfg-options); None: a randomly initialised backbone
VARIANTS = {
    'random init (floor)': None,
    'MulSupCon as shipped (Adam 3e-3, tau 0.1, queue 4096)': (MULSUPCON, []),
    'MulSupCon, Adam 4e-4 (the reference lr)': (
        MULSUPCON, ['optim_wrapper.optimizer.lr=0.0004']),
    'MulSupCon, Adam 1e-3, queue 1024': (
        MULSUPCON, ['optim_wrapper.optimizer.lr=0.001', 'model.queue_len=1024']),
    'MulSupCon, tau 0.05': (MULSUPCON, ['model.head.temperature=0.05']),
    'MulSupCon, tau 0.3': (MULSUPCON, ['model.head.temperature=0.3']),
    "MulSupCon, SGD 0.1 momentum 0.9 (the paper's COCO lr)": (
        MULSUPCON, ['optim_wrapper.optimizer.type=SGD', 'optim_wrapper.optimizer.lr=0.1',
                    'optim_wrapper.optimizer.momentum=0.9',
                    'optim_wrapper.optimizer.weight_decay=0.0001']),
    'MulSupCon ALL positives': (MULSUPCON, ['model.head.positives=all']),
    # the views of the supervised runs (crop 0.6 - 1, flip; no colour jitter or grayscale):
    # with labels defining the positives, the views need not carry the whole invariance
    'MulSupCon, light views': (MULSUPCON, [
        f'{VIEW}.0.crop_ratio_range=(0.6,1.0)', f'{VIEW}.2.prob=0.0', f'{VIEW}.3.prob=0.0']),
    'SimSiam as shipped': ('simsiam_resnet18-w16_1xb64-sgd-15e_{ds}.py', []),
}
BCE = 'bce_resnet18-w16_1xb64-adam-15e_{ds}.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=osp.join(REPO_ROOT, 'data'),
                        help='folder holding peta/ and miml_scene/ (e.g. ../shared/data)')
    parser.add_argument('--datasets', nargs='+', default=['peta'], choices=sorted(bench.DATASETS))
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument('--epochs', type=int, default=4, help='pretraining epochs per variant')
    parser.add_argument('--probe-train', type=int, default=3000,
                        help='training images whose features fit the ridge probe')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--quick', action='store_true',
                        help='64 training images, 1 epoch, a 32-image probe (tests)')
    parser.add_argument('--work-dir', default=osp.join(REPO_ROOT, 'work_dirs',
                                                       'probe_pretraining'))
    parser.add_argument('--no-run', action='store_true', help='only print the cached table')
    parser.add_argument('--readme', default=None,
                        help='rewrite the marked probe block of this markdown file')
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.probe_train = 1, 32
    # what bench._loader_options reads
    args.recipe = 'cpu'
    return args


def _features(model, dataset_cfg, num, seed):
    """Pooled backbone features (``N x D``) and targets (``N x C``) of ``num`` samples."""
    from mlcl_plugin.analysis.embeddings import extract
    from mlcl_plugin.analysis.loading import build_dataset
    dataset = build_dataset(dataset_cfg)
    if num < len(dataset):
        keep = np.sort(np.random.RandomState(seed).permutation(len(dataset))[:num])
        dataset = dataset.get_subset(keep.tolist())
    out = extract(model, dataset, stage='backbone', with_scores=False)
    return out.embeddings.astype(np.float64), out.targets


def ridge_probe(train_x, train_y, val_x, val_y):
    """Validation mAP (%) of ridge regressions on standardised features, best of 4 penalties.

    Args:
        train_x (np.ndarray): ``N x D`` training features; ``train_y`` ``N x C`` 0/1.
        val_x (np.ndarray): ``M x D`` validation features; ``val_y`` ``M x C`` 0/1.

    Returns:
        float: the best macro AP over the classes present in ``val_y``, in percent.
    """
    from sklearn.linear_model import Ridge
    from sklearn.metrics import average_precision_score
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    train_x, val_x = (train_x - mean) / std, (val_x - mean) / std
    present = val_y.sum(0) > 0
    best = 0.0
    for alpha in (1, 10, 100, 1000):
        scores = Ridge(alpha=alpha).fit(train_x, train_y).predict(val_x)
        best = max(best, average_precision_score(val_y[:, present], scores[:, present],
                                                 average='macro'))
    return 100 * best


def probe(args, ds, name, env):
    """Pretrain one variant (cached) and score its backbone with the ridge probe."""
    from mlcl_plugin.analysis.loading import build_model, dataset_config, load_config
    work = osp.join(args.work_dir, ds, name.split(' (')[0].replace(' ', '_').replace(',', '')
                    .replace('/', '-').replace("'", ''))
    spec = VARIANTS[name]
    opts = [f'randomness.seed={args.seed}',
            f'default_hooks.checkpoint.interval={args.epochs}',
            *bench._epochs_options(args.epochs),
            *bench._loader_options(args, ds, ('train_dataloader', ))]
    if args.quick and spec is not None and 'queue' not in ' '.join(spec[1]) \
            and spec[0] == MULSUPCON:
        opts.append('model.queue_len=64')  # a multiple of the quick batch of 16
    cfg = bench.config_path(args, (spec or (BCE, []))[0].format(ds=ds), ds)
    key = bench._unit_key(args, cfg, opts + (spec[1] if spec else ['random']),
                          upstream=str(args.probe_train))
    result_path = osp.join(work, 'probe.json')
    if osp.isfile(result_path):
        with open(result_path) as f:
            rec = json.load(f)
        if rec.get('unit_key') == key:
            return rec
        if args.no_run:  # shown, marked: its config changed since (its commit says when)
            return dict(rec, stale=True)
    if args.no_run:
        return None
    os.makedirs(work, exist_ok=True)
    rec = {'variant': name, 'dataset': ds, 'epochs': args.epochs, 'seed': args.seed,
           'options': spec[1] if spec else [], 'unit_key': key}
    if spec is None:
        ckpt, train_cfg = None, cfg
    else:
        rec.update(bench._train(args, cfg, work, opts + spec[1], env,
                                16 if args.quick else 64))
        ckpt = osp.join(work, f'epoch_{args.epochs}.pth')
        rec['losses'] = _losses(work)
        train_cfg = cfg
    start = time.perf_counter()
    data_cfg = load_config(osp.join(REPO_ROOT, bench.config_path(args, BCE.format(ds=ds), ds)))
    root = osp.join(osp.abspath(args.data_root), bench.DATASETS[ds]['folder']) + '/'
    test_pipeline = dataset_config(data_cfg)['pipeline']
    sets = {}
    for split, loader in (('train', 'train_dataloader'), ('val', 'val_dataloader')):
        dcfg = data_cfg[loader]['dataset'].to_dict()
        dcfg.update(data_root=root, pipeline=test_pipeline, test_mode=True)
        dcfg.pop('label_fraction', None)
        sets[split] = dcfg
    # the config tools/train.py saved (with this run's options) builds the trained model
    saved = osp.join(work, osp.basename(train_cfg))
    cfg_obj = load_config(saved if ckpt and osp.isfile(saved) else osp.join(REPO_ROOT, train_cfg))
    if ckpt is None:
        import torch
        from mmpretrain.registry import MODELS
        torch.manual_seed(args.seed)
        model = MODELS.build(cfg_obj.model).eval()
    else:
        model = build_model(cfg_obj, ckpt)
    num_val = 32 if args.quick else 10 ** 9
    train_x, train_y = _features(model, sets['train'], args.probe_train, args.seed)
    val_x, val_y = _features(model, sets['val'], num_val, args.seed)
    rec['probe_val_mAP'] = ridge_probe(train_x, train_y, val_x, val_y)
    rec['probe_s'] = time.perf_counter() - start
    rec.update(bench._provenance(args))
    bench._atomic_json(result_path, rec)
    return rec


def _losses(work):
    """First and last logged training loss of a run (from mmengine's scalars log)."""
    import glob
    values = []
    for path in sorted(glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            values += [json.loads(line)['loss'] for line in f if '"loss"' in line]
    return [values[0], values[-1]] if values else None


def table(records):
    lines = ['| data set | variant | epochs | val mAP (ridge probe) | loss first -> last | '
             'pretrain min | commit |', '| --- | --- | --- | --- | --- | --- | --- |']
    for rec in records:
        losses = rec.get('losses')
        loss = f'{losses[0]:.2f} -> {losses[1]:.2f}' if losses else '-'
        minutes = f'{rec["train_s"] / 60:.1f}' if rec.get('train_s') else '-'
        stale = ' (config changed since)' if rec.get('stale') else ''
        lines.append(f'| {bench.DATASETS[rec["dataset"]]["name"]} | {rec["variant"]}{stale} | '
                     f'{rec["epochs"] if rec.get("train_s") else 0} | '
                     f'{rec["probe_val_mAP"]:.1f} | {loss} | {minutes} | '
                     f'{rec.get("commit", "?")} |')
    return lines


def main(argv=None):
    args = parse_args(argv)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    records = []
    for ds in args.datasets:
        for name in args.variants:
            rec = probe(args, ds, name, env)
            if rec is not None:
                records.append(rec)
                print(f'[{ds}] {name}: val mAP {rec["probe_val_mAP"]:.1f}', flush=True)
    lines = [f'Pretraining probe (table made at commit `{bench._commit()}`; "as shipped" '
             "means the config at the row's commit): each variant "
             f'pretrains {args.epochs} epochs (seed {args.seed}); a ridge regression on the '
             f'frozen pooled backbone features of {args.probe_train} training images scores the '
             'validation split (mAP). The test split is not used.', ''] + table(records)
    print('\n'.join(lines))
    if args.readme:
        bench.update_readme(args.readme, lines, README_BEGIN, README_END)
    return records


if __name__ == '__main__':
    main()
