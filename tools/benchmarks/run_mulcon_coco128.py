# Copyright (c) mlcl_plugin authors. All rights reserved.
"""A short CPU run of MulCon on coco128: stage 1, then stage 2 from the stage-1 checkpoint.

Both stages go through the stock ``tools/train.py`` with the shipped configs
``configs/mulcon/mulcon-stage{1,2}_resnet18_*_coco128-128px.py`` (ResNet-18 from random init,
128 px, train on the first 96 annotated images, validate on the other 30); stage 2 gets
``load_from=<stage-1 work dir>/epoch_8.pth``. The validation metrics of
``MultiLabelPaperMetric`` (mAP, F1 family, ML-GCN CP/CR/CF1/OP/OR/OF1) printed by each stage's
last validation are repeated at the end.

Example::

    python tools/benchmarks/run_mulcon_coco128.py --data-root ../shared/data/coco128 \
        --work-dir work_dirs/mulcon_coco128
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import orchestration as orch

REPO = orch.REPO_ROOT
STAGE1 = 'configs/mulcon/mulcon-stage1_resnet18_1xb16-adamw-8e_coco128-128px.py'
STAGE2 = 'configs/mulcon/mulcon-stage2_resnet18_1xb8-sgd-4e_coco128-128px.py'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default=orch.default_data_root('coco128'))
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'mulcon_coco128'))
    parser.add_argument('--stage1-epochs', type=int, default=None,
                        help='override max_epochs of stage 1 (the checkpoint of the last '
                        'epoch is loaded by stage 2)')
    parser.add_argument('--stage2-epochs', type=int, default=None)
    return parser.parse_args()


def data_options(root):
    return orch.data_root_options(root)


def last_val_metrics(work_dir):
    """The last validation entry of the run's scalars log (mmengine's ``vis_data``)."""
    try:
        return {f'multi-label/{k}': v for k, v in orch.last_metrics(work_dir).items()}
    except (FileNotFoundError, RuntimeError):
        return None


def train(config, work_dir, options):
    return orch.train(config, work_dir, options, resume=False)


def main():
    args = parse_args()
    if not osp.isfile(osp.join(args.data_root, 'annotations', 'instances_train2017.json')):
        raise SystemExit(f'coco128 not found under {args.data_root} (annotations/'
                         'instances_train2017.json, train2017/)')
    dir1 = osp.join(args.work_dir, 'stage1')
    dir2 = osp.join(args.work_dir, 'stage2')
    opts1 = data_options(args.data_root)
    epochs1 = 8
    if args.stage1_epochs:
        epochs1 = args.stage1_epochs
        opts1 += [f'train_cfg.max_epochs={epochs1}',
                  f'default_hooks.checkpoint.interval={epochs1}']
    time1 = train(STAGE1, dir1, opts1)
    ckpt = osp.join(dir1, f'epoch_{epochs1}.pth')
    opts2 = data_options(args.data_root) + [f'load_from={ckpt}']
    if args.stage2_epochs:
        opts2 += [f'train_cfg.max_epochs={args.stage2_epochs}',
                  f'default_hooks.checkpoint.interval={args.stage2_epochs}']
    time2 = train(STAGE2, dir2, opts2)
    for name, work_dir, seconds in (('stage 1', dir1, time1), ('stage 2', dir2, time2)):
        metrics = last_val_metrics(work_dir)
        print(f'\n== {name} ({seconds:.0f} s wall), last validation (30 held-out images) ==')
        if metrics is None:
            print('no validation metrics found')
            continue
        for key, value in metrics.items():
            if key.startswith('multi-label/'):
                print(f'{key}: {value:.2f}')


if __name__ == '__main__':
    main()
