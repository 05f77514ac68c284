# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The README main job: MulSupCon pretraining then linear evaluation on the embedded set.

Steps, each through the stock mmpretrain ``tools/train.py``:

1. generate ToyShapes (``data/toy_shapes``; deterministic, skipped when already there);
2. pretrain ``MultiLabelMoCo`` + ``MulSupConHead`` on its training split;
3. linear-probe the pretrained backbone (frozen) and, for reference, the same backbone
   randomly initialised; both are scored on the test split by ``MultiLabelPaperMetric``;
4. print the two rows of metrics side by side.

Example:
    python tools/run_main_job.py               # ~7 min on a 2-core CPU
    python tools/run_main_job.py --epochs 2 --probe-epochs 1 --num-train 256   # smoke run
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

PRETRAIN_CFG = 'configs/toy_shapes/mulsupcon_resnet18-w16_1xb64-coslr-15e_toyshapes.py'
PROBE_CFG = 'configs/toy_shapes/resnet18-w16_linear-adam-10e_toyshapes.py'
RANDOM_PROBE_CFG = 'configs/toy_shapes/resnet18-w16_randinit-linear-adam-10e_toyshapes.py'
METRICS = ('mAP', 'hamming_accuracy', 'example_f1', 'macro_f1', 'micro_f1', 'precision@1')


def train(config: str, work_dir: str, options: list) -> float:
    """Run stock ``tools/train.py`` and return its wall time in seconds."""
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work_dir]
    if options:
        cmd += ['--cfg-options'] + options
    print('+', ' '.join(cmd), flush=True)
    start = time.time()
    subprocess.run(cmd, check=True, cwd=REPO)
    return time.time() - start


def last_metrics(work_dir: str) -> dict:
    """The last evaluation logged in ``work_dir/<timestamp>/vis_data/scalars.json``."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no scalars.json under {work_dir}: did training run?')
    found = {}
    with open(files[-1]) as f:
        for line in f:
            record = json.loads(line)
            if 'multi-label/mAP' in record:
                found = record
    if not found:
        raise RuntimeError(f'{files[-1]} holds no multi-label/* metrics')
    return {m: found[f'multi-label/{m}'] for m in METRICS}


def main(argv=None):
    parser = argparse.ArgumentParser(description='MulSupCon pretraining + linear evaluation '
                                     'on the embedded ToyShapes set')
    parser.add_argument('--work-dir', default='work_dirs/main_job')
    parser.add_argument('--data-root', default='data/toy_shapes')
    parser.add_argument('--epochs', type=int, default=15, help='pretraining epochs')
    parser.add_argument('--probe-epochs', type=int, default=10, help='linear-probe epochs')
    parser.add_argument('--num-train', type=int, default=2400)
    parser.add_argument('--num-test', type=int, default=600)
    args = parser.parse_args(argv)

    from mlcl_plugin.datasets.toy_shapes import make_toy_shapes

    data_root = osp.abspath(args.data_root)
    make_toy_shapes(data_root, num_train=args.num_train, num_test=args.num_test)
    data_opts = [f'train_dataloader.dataset.data_root={data_root}']
    probe_data_opts = data_opts + [f'val_dataloader.dataset.data_root={data_root}',
                                   f'test_dataloader.dataset.data_root={data_root}']
    work_dir = osp.abspath(args.work_dir)

    pre_dir = osp.join(work_dir, 'pretrain')
    t_pre = train(PRETRAIN_CFG, pre_dir, data_opts + [
        f'train_cfg.max_epochs={args.epochs}', f'param_scheduler.0.T_max={args.epochs}',
        f'param_scheduler.0.end={args.epochs}',
        f'default_hooks.checkpoint.interval={args.epochs}'])
    with open(osp.join(pre_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()

    n = args.probe_epochs
    probe_opts = probe_data_opts + [
        f'train_cfg.max_epochs={n}', f'train_cfg.val_interval={n}',
        f'param_scheduler.0.T_max={n}', f'param_scheduler.0.end={n}',
        f'default_hooks.checkpoint.interval={n}']
    rows = {}
    times = {}
    times['pretrained'] = train(PROBE_CFG, osp.join(work_dir, 'linear_pretrained'), probe_opts + [
        f'model.backbone.init_cfg.checkpoint={checkpoint}'])
    rows['MulSupCon-pretrained'] = last_metrics(osp.join(work_dir, 'linear_pretrained'))
    times['random'] = train(RANDOM_PROBE_CFG, osp.join(work_dir, 'linear_random'), probe_opts)
    rows['random init'] = last_metrics(osp.join(work_dir, 'linear_random'))

    print('\nLinear evaluation on ToyShapes test split '
          f'({args.num_test} images, 8 classes, threshold 0.5, percent):')
    header = f'| {"backbone":22s} | ' + ' | '.join(f'{m:>16s}' for m in METRICS) + ' |'
    print(header)
    print('|' + '-' * (len(header) - 2) + '|')
    for name, values in rows.items():
        print(f'| {name:22s} | ' + ' | '.join(f'{values[m]:16.2f}' for m in METRICS) + ' |')
    gain = rows['MulSupCon-pretrained']['mAP'] - rows['random init']['mAP']
    print(f'\nmAP gain from pretraining: {gain:+.2f} points')
    print(f'time: pretraining {t_pre:.0f} s, probes {times["pretrained"]:.0f} s + '
          f'{times["random"]:.0f} s; checkpoint {checkpoint}')
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(dict(rows=rows, pretrain_seconds=t_pre, checkpoint=checkpoint), f, indent=1)
    return rows


if __name__ == '__main__':
    main()
