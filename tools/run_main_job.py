# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The README main job: MulSupCon pretraining then linear evaluation on the embedded set.

Steps, each through the stock mmpretrain ``tools/train.py``:

1. generate ToyShapes (``data/toy_shapes``; deterministic, skipped when already there);
2. pretrain ``MultiLabelMoCo`` + ``MulSupConHead`` on its training split;
3. linear-probe the pretrained backbone (frozen) and, for reference, the same backbone
   randomly initialised; both are scored on the test split by ``MultiLabelPaperMetric``;
4. print the two rows of metrics side by side.

Example:
    python tools/run_main_job.py               # its wall time on 2 cores: README.md, set-up
    python tools/run_main_job.py --epochs 2 --probe-epochs 1 --num-train 256   # smoke run
"""
import argparse
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'tools', 'benchmarks'))
import orchestration as orch  # noqa: E402

PRETRAIN_CFG = 'configs/toy_shapes/mulsupcon_resnet18-w16_1xb64-coslr-15e_toyshapes.py'
PROBE_CFG = 'configs/toy_shapes/resnet18-w16_linear-adam-10e_toyshapes.py'
RANDOM_PROBE_CFG = 'configs/toy_shapes/resnet18-w16_randinit-linear-adam-10e_toyshapes.py'
README_BEGIN = '<!-- main-job:begin -->'
README_END = '<!-- main-job:end -->'
METRICS = ('mAP', 'hamming_accuracy', 'example_f1', 'macro_f1', 'micro_f1', 'precision@1')


def train(config: str, work_dir: str, options: list) -> float:
    """Run stock ``tools/train.py`` (from scratch) and return its wall time in seconds."""
    return orch.train(config, work_dir, options, resume=False)


def last_metrics(work_dir: str) -> dict:
    """The last evaluation logged in ``work_dir/<timestamp>/vis_data/scalars.json``."""
    found = orch.last_metrics(work_dir)
    return {m: found[m] for m in METRICS}


def main(argv=None):
    parser = argparse.ArgumentParser(description='MulSupCon pretraining + linear evaluation '
                                     'on the embedded ToyShapes set')
    parser.add_argument('--work-dir', default='work_dirs/main_job')
    parser.add_argument('--data-root', default='data/toy_shapes')
    parser.add_argument('--epochs', type=int, default=15, help='pretraining epochs')
    parser.add_argument('--probe-epochs', type=int, default=10, help='linear-probe epochs')
    parser.add_argument('--num-train', type=int, default=2400)
    parser.add_argument('--num-test', type=int, default=600)
    parser.add_argument('--readme', help='rewrite the marked main-job block of this README with '
                        'what this run printed, its wall times, commit and machine')
    args = parser.parse_args(argv)
    start = time.perf_counter()

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
    checkpoint = orch.last_checkpoint(pre_dir)

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

    lines = [f'Linear evaluation on ToyShapes test split ({args.num_test} images, 8 classes, '
             'threshold 0.5, percent):']
    header = f'| {"backbone":22s} | ' + ' | '.join(f'{m:>16s}' for m in METRICS) + ' |'
    lines += [header, '|' + '-' * (len(header) - 2) + '|']
    for name, values in rows.items():
        lines.append(f'| {name:22s} | ' + ' | '.join(f'{values[m]:16.2f}' for m in METRICS)
                     + ' |')
    gain = rows['MulSupCon-pretrained']['mAP'] - rows['random init']['mAP']
    total = time.perf_counter() - start
    lines += ['', f'mAP gain from pretraining: {gain:+.2f} points',
              f'time: pretraining {t_pre:.0f} s, probes {times["pretrained"]:.0f} s + '
              f'{times["random"]:.0f} s; whole job {total / 60:.1f} min']
    print('\n' + '\n'.join(lines) + f'\ncheckpoint {checkpoint}')
    if args.readme:
        commit = orch.git_commit(True, outputs=(args.readme, ))
        orch.replace_marked_block(args.readme, README_BEGIN, README_END, [
            f'What `tools/run_main_job.py` printed at commit `{commit}` '
            f'on {orch.machine()} ({time.strftime("%Y-%m-%d")}; written by its `--readme`; '
            f'whole job {total / 60:.1f} min, install not included):', '', '```', *lines,
            '```'])
    os.makedirs(work_dir, exist_ok=True)
    orch.atomic_write_json(osp.join(work_dir, 'summary.json'),
                           dict(rows=rows, pretrain_seconds=t_pre, probe_seconds=times,
                                total_seconds=total, checkpoint=checkpoint))
    return rows


if __name__ == '__main__':
    main()
