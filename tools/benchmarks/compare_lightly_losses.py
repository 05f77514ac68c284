# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Compare MulSupCon with Lightly's losses under one protocol, with the stock tools only.

For every method: pretrain with the stock ``tools/train.py``, train the linear probe on the
frozen backbone (``tools/train.py`` again), evaluate it with the stock ``tools/test.py``, and
print one table of the evaluator's metrics and the pretraining time per iteration. The methods
share backbone, views, queue length, temperature, schedule and evaluation; only the head of
``MultiLabelMoCo`` differs (``MulSupConHead`` or ``LightlyLossHead``):

========== ===================================================================================
key        pretraining config
========== ===================================================================================
mulsupcon  MultiLabelMoCo + MulSupCon (labels, label queue)
ntxent     MultiLabelMoCo + Lightly ``NTXentLoss`` with its memory bank (MoCo-style InfoNCE)
dcl        MultiLabelMoCo + Lightly ``DCLLoss`` (in-batch negatives)
barlow     MultiLabelMoCo + Lightly ``BarlowTwinsLoss`` (one-sided: momentum target)
simclr     coco128 only, optional: stock ``BarlowTwins`` algorithm + Lightly ``NTXentLoss``
simsiam    coco128 only, optional: stock ``SimSiam`` + Lightly ``NegativeCosineSimilarity``
========== ===================================================================================

Datasets:

* ``coco128``: configs/lightly/*_coco128.py: quarter-width ResNet-18, 64 px, 20 epochs on 96
  photos; linear probe 20 epochs, evaluated on the 30 held-out labelled photos (tiny: a
  plumbing / speed comparison, not an accuracy claim).
* ``yeast``: configs/mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_yeast.py and the
  configs/lightly/*_yeast.py variants; linear probe
  configs/mulsupcon_vector/benchmarks/mlp_1xb32-linear-adam-1500it_yeast.py, tested at its
  checkpoint of lowest validation BCE on the official test split. ``--pretrain-iters N``
  shortens the 150k-iteration schedule (the warm-restart cosine is compressed to N).

Time per iteration is the median of the logged per-iteration ``time`` of pretraining (data
loading included), with the logger set to every iteration. On a shared machine that number
follows the load of other processes, so the table also gives ``loss ms``: the head alone
(forward + backward of ``head.loss(query, batch keys + full queue, labels)`` at the config's
batch, queue, width and class count, random unit vectors), measured in this process on one
thread with the methods interleaved (median of ``--loss-repeats``), which load drift hits
alike.

Example::

    python tools/benchmarks/compare_lightly_losses.py --dataset coco128
    python tools/benchmarks/compare_lightly_losses.py --dataset yeast --pretrain-iters 3000
"""
import argparse
import json
import os
import os.path as osp
import pickle
import statistics
import sys
import time
from typing import Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import orchestration as orch

REPO_ROOT = orch.REPO_ROOT

METHODS = {
    'mulsupcon': 'MulSupCon',
    'ntxent': 'Lightly NTXent + memory bank',
    'dcl': 'Lightly DCL',
    'barlow': 'Lightly BarlowTwins',
    'simclr': 'SimCLR (stock BarlowTwins alg. + Lightly NTXent)',
    'simsiam': 'SimSiam (stock alg. + Lightly NegCosine)',
}
_COCO = 'configs/lightly/{}_resnet18-w16_1xb16-{}-20e_coco128.py'
_YEAST = 'configs/lightly/mlmoco-lightly-{}_mlp_1xb64-adam-150k_yeast.py'
DATASETS = {
    'coco128': dict(
        data_dir='coco128',
        pretrain={
            'mulsupcon': _COCO.format('mlmoco-mulsupcon', 'adam'),
            'ntxent': _COCO.format('mlmoco-lightly-ntxent-membank', 'adam'),
            'dcl': _COCO.format('mlmoco-lightly-dcl', 'adam'),
            'barlow': _COCO.format('mlmoco-lightly-barlowtwins', 'adam'),
            'simclr': _COCO.format('simclr-style_barlowtwins-lightly-ntxent', 'adam'),
            'simsiam': _COCO.format('simsiam-lightly-negcosine', 'sgd'),
        },
        probe='configs/lightly/benchmarks/resnet18-w16_linear-adam-20e_coco128.py',
        pretrain_loaders=('train_dataloader', ),
        probe_loaders=('train_dataloader', 'val_dataloader', 'test_dataloader'),
        by_epoch=True,
        probe_checkpoint='last'),
    'yeast': dict(
        data_dir='yeast_mulsupcon',
        pretrain={
            'mulsupcon': 'configs/mulsupcon_vector/mulsupcon_mlp_1xb64-adam-150k_yeast.py',
            'ntxent': _YEAST.format('ntxent-membank'),
            'dcl': _YEAST.format('dcl'),
            'barlow': _YEAST.format('barlowtwins'),
        },
        probe='configs/mulsupcon_vector/benchmarks/mlp_1xb32-linear-adam-1500it_yeast.py',
        pretrain_loaders=('train_dataloader', ),
        probe_loaders=('train_dataloader', 'val_dataloader', 'test_dataloader'),
        by_epoch=False,
        probe_checkpoint='best'),  # lowest validation BCE (the MulSupCon protocol)
}
DEFAULT_METHODS = ('mulsupcon', 'ntxent', 'dcl', 'barlow')
# Preferred column order; keys the evaluator does not report are skipped.
METRICS = ('mAP', 'micro_f1', 'macro_f1', 'example_f1', 'hamming_accuracy', 'precision@1', 'CF1',
           'OF1', 'oracle_micro_f1', 'oracle_macro_f1')


def default_data_root(dataset: str) -> str:
    return orch.default_data_root(DATASETS[dataset]['data_dir'])


def schedule_options(by_epoch: bool, length: Optional[int], probe: bool) -> List[str]:
    """``--cfg-options`` that shorten a schedule to ``length`` epochs / iterations."""
    if length is None:
        return []
    if by_epoch:
        opts = [f'train_cfg.max_epochs={length}', f'param_scheduler.0.T_max={length}',
                f'param_scheduler.0.end={length}']
        if probe:
            opts.append(f'train_cfg.val_interval={length}')
    elif probe:  # epochs to the validation plateau (early stop): only the cap changes
        opts = [f'train_cfg.max_epochs={length}']
    else:  # warm-restart cosine of the vector pretraining: same 1:2 cycles, compressed
        first = max(length // 3, 1)
        opts = [f'train_cfg.max_iters={length}',
                f'param_scheduler.0.periods=[{first},{length - first}]',
                f'param_scheduler.0.end={length}']
    return opts + [f'default_hooks.checkpoint.interval={length}']


def data_options(loaders, root: str) -> List[str]:
    return orch.data_root_options(root, loaders)


run_tool = orch.run_tool
last_checkpoint = orch.last_checkpoint
best_checkpoint = orch.best_checkpoint


def scalars_file(work_dir: str) -> str:
    """The scalars log of the newest run in ``work_dir``."""
    files = orch.scalars_files(work_dir)
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}')
    return files[-1]


def time_per_iter(scalars_json: str, skip: int = 2) -> float:
    """Median logged ``time`` of the training iterations (the first ``skip`` ones dropped:
    warm-up)."""
    times = []
    with open(scalars_json) as f:
        for line in f:
            entry = json.loads(line)
            if 'time' in entry and 'loss' in entry:
                times.append(float(entry['time']))
    if not times:
        raise ValueError(f'{scalars_json} holds no training iteration times')
    return statistics.median(times[skip:] if len(times) > skip else times)


def load_metrics(pkl: str) -> Dict[str, float]:
    with open(pkl, 'rb') as f:
        metrics = pickle.load(f)
    return {k.split('/', 1)[-1]: float(v) for k, v in metrics.items()
            if isinstance(v, (int, float))}


def loss_step_ms(configs: Dict[str, str], repeats: int = 30, seed: int = 0) -> Dict[str, float]:
    """Median ms of one forward + backward of each MultiLabelMoCo config's head, interleaved,
    on one CPU thread.

    Inputs at the config's shapes: ``B x D`` queries (with grad), ``(B + K) x D`` keys (the
    batch and a full queue), ``B x C`` / ``(B + K) x C`` multi-hot labels (20% density).
    Configs of other algorithms are skipped.
    """
    import torch
    import torch.nn.functional as F
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    import mlcl_plugin  # noqa: F401  (registers the heads)

    init_default_scope('mmpretrain')
    setups = {}
    for key, path in configs.items():
        cfg = Config.fromfile(osp.join(REPO_ROOT, path))
        if cfg.model.type != 'MultiLabelMoCo':
            continue
        b, k = cfg.train_dataloader.batch_size, cfg.model.queue_len
        d, c = cfg.model.feat_dim, cfg.model.num_classes
        g = torch.Generator().manual_seed(seed)
        query = F.normalize(torch.randn(b, d, generator=g), dim=1)
        keys = F.normalize(torch.randn(b + k, d, generator=g), dim=1)
        labels = (torch.rand(b + k, c, generator=g) < 0.2).float()
        setups[key] = (MODELS.build(cfg.model.head), query, keys, labels[:b], labels)
    times = {key: [] for key in setups}
    threads = torch.get_num_threads()
    # one thread: these small kernels gain nothing from more, and thread hand-offs are what
    # suffers most from other processes' load
    torch.set_num_threads(1)
    try:
        for rep in range(repeats + 2):  # two warm-up rounds
            for key, (head, query, keys, query_labels, key_labels) in setups.items():
                q = query.clone().requires_grad_()
                tic = time.perf_counter()
                out = head.loss(q, keys, query_labels, key_labels)
                (out['loss'] if isinstance(out, dict) else out).backward()
                if rep >= 2:
                    times[key].append(time.perf_counter() - tic)
    finally:
        torch.set_num_threads(threads)
    return {key: 1000 * statistics.median(v) for key, v in times.items()}


def format_table(rows: List[dict], metrics=METRICS) -> str:
    """Markdown table: method, pretraining ms/iter, loss ms, then the metrics present in any
    row."""
    present = [m for m in metrics if any(m in r['metrics'] for r in rows)]
    header = ['method', 'pretrain ms/iter', 'loss ms', 'pretrain iters'] + present
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for r in rows:
        loss_ms = r.get('loss_ms')
        cells = [r['method'], f'{1000 * r["time_per_iter"]:.1f}',
                 '-' if loss_ms is None else f'{loss_ms:.2f}', str(r['iters'])]
        cells += [f'{r["metrics"][m]:.2f}' if m in r['metrics'] else '-' for m in present]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def count_iters(scalars_json: str) -> int:
    last = 0
    with open(scalars_json) as f:
        for line in f:
            entry = json.loads(line)
            if 'loss' in entry and 'iter' in entry:
                last = max(last, int(entry['iter']))
    return last


def run_method(key: str, spec: dict, args, work_root: str) -> dict:
    root = args.data_root
    common = [f'randomness.seed={args.seed}']
    wd = osp.join(work_root, key)
    pre_dir, probe_dir = osp.join(wd, 'pretrain'), osp.join(wd, 'probe')
    pretrain_len = args.pretrain_epochs if spec['by_epoch'] else args.pretrain_iters
    probe_len = args.probe_epochs if spec['by_epoch'] else args.probe_iters

    os.makedirs(wd, exist_ok=True)
    opts = (data_options(spec['pretrain_loaders'], root) + common +
            schedule_options(spec['by_epoch'], pretrain_len, probe=False) +
            ['default_hooks.logger.interval=1', 'log_processor.window_size=1'] +
            args.pretrain_cfg_options)
    run_tool('train.py', [spec['pretrain'][key], '--work-dir', pre_dir, '--cfg-options'] + opts,
             osp.join(wd, 'pretrain.log'))
    ckpt = last_checkpoint(pre_dir)

    probe_opts = (data_options(spec['probe_loaders'], root) +
                  [f'model.backbone.init_cfg.checkpoint={ckpt}'] + args.probe_cfg_options)
    opts = common + schedule_options(spec['by_epoch'], probe_len, probe=True) + probe_opts
    run_tool('train.py', [spec['probe'], '--work-dir', probe_dir, '--cfg-options'] + opts,
             osp.join(wd, 'probe.log'))
    probe_ckpt = (best_checkpoint(probe_dir) if spec['probe_checkpoint'] == 'best' else
                  last_checkpoint(probe_dir))

    out = osp.join(wd, 'test_metrics.pkl')
    run_tool('test.py', [spec['probe'], probe_ckpt, '--work-dir', osp.join(wd, 'test'),
                         '--out', out, '--out-item', 'metrics', '--cfg-options'] + probe_opts,
             osp.join(wd, 'test.log'))
    scalars = scalars_file(pre_dir)
    return dict(key=key, method=METHODS[key], config=spec['pretrain'][key],
                time_per_iter=time_per_iter(scalars), iters=count_iters(scalars),
                metrics=load_metrics(out), probe_checkpoint=osp.relpath(probe_ckpt, REPO_ROOT))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Compare MulSupCon with Lightly losses (pretrain + linear probe + test).')
    parser.add_argument('--dataset', choices=sorted(DATASETS), required=True)
    parser.add_argument('--methods', nargs='+', choices=sorted(METHODS),
                        default=list(DEFAULT_METHODS))
    parser.add_argument('--data-root', help='dataset folder (default: the shared data)')
    parser.add_argument('--work-dir', help='default: work_dirs/compare_lightly_losses/<dataset>')
    parser.add_argument('--pretrain-epochs', type=int, help='coco128: override the 20 epochs')
    parser.add_argument('--probe-epochs', type=int, help='coco128: override the 20 epochs')
    parser.add_argument('--pretrain-iters', type=int,
                        help='yeast: shorten the 150k-iteration pretraining')
    parser.add_argument('--probe-iters', type=int,
                        help='yeast: cap on the probe epochs (it stops on the validation '
                        "plateau; default: the config's cap)")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--pretrain-cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='extra --cfg-options for every pretraining run')
    parser.add_argument('--probe-cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='extra --cfg-options for every linear probe (training and test)')
    parser.add_argument('--loss-repeats', type=int, default=30,
                        help='repeats of the interleaved head timing (0 skips it)')
    parser.add_argument('--out', help='also write the rows as JSON here')
    args = parser.parse_args(argv)
    spec = DATASETS[args.dataset]
    unknown = [m for m in args.methods if m not in spec['pretrain']]
    if unknown:
        parser.error(f'methods {unknown} have no {args.dataset} config; available: '
                     f'{sorted(spec["pretrain"])}')
    args.data_root = osp.abspath(args.data_root or default_data_root(args.dataset))
    if not osp.isdir(args.data_root):
        parser.error(f'data root {args.data_root} not found (pass --data-root)')
    return args


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    spec = DATASETS[args.dataset]
    work_root = osp.abspath(args.work_dir or osp.join(REPO_ROOT, 'work_dirs',
                                                      'compare_lightly_losses', args.dataset))
    rows = []
    for key in args.methods:
        rows.append(run_method(key, spec, args, work_root))
    if args.loss_repeats:
        loss_ms = loss_step_ms({key: spec['pretrain'][key] for key in args.methods},
                               repeats=args.loss_repeats, seed=args.seed)
        for row in rows:
            row['loss_ms'] = loss_ms.get(row['key'])
    table = format_table(rows)
    print(f'\n{args.dataset}: linear probe on the frozen pretrained backbone (test metrics, %), '
          'pretraining time per iteration\n')
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(dataset=args.dataset, rows=rows, table=table), f, indent=1)
    return rows


if __name__ == '__main__':
    main()
