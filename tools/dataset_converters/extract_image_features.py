# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Embeddings of an image data set by a frozen backbone, written as a vector data set.

The MulSupCon paper (Table 4) compares MulSupCon with C-GMVAE on MS-COCO, PASCAL and
MIRFLICKR given as vectors: each image's embedding by an ImageNet-pretrained ResNet-50. This
tool makes those vectors: for each split it runs the model config's preprocessor and backbone
over the data config's images (the data config's deterministic test pipeline for every split:
resize, centre crop, no augmentation) and average-pools the last feature map (2048-d for a
ResNet-50), as mmpretrain's ``tools/visualization/vis_tsne.py`` does. Each split becomes
``<out-dir>/<split>.npz`` (``X`` float32 ``N x D``, ``Y`` uint8 ``N x C``, ``label_names``),
which ``MulanDataset`` reads (``configs/_base_/datasets/coco2014_resnet50_vectors.py`` and the
files beside it name them), and ``<out-dir>/<split>.json`` says what made it.

The train split is the data config's training set whole: a validation carve-out of it
(``subset='train'``, or a ``KFoldDataset`` around it) is undone, because the vector data-set
config carves its own (the MulSupCon recipe selects on it). The test split is the data
config's test set.

Weights: the model config defaults to mmpretrain's ``resnet/resnet50_8xb32_in1k.py``, whose
checkpoint mmpretrain publishes (``resnet50_8xb32_in1k_20210831-ea4938fc.pth``); torchvision's
``resnet50-*.pth`` state dicts load into the same backbone. Checkpoints are read with
``weights_only=True`` through the plugin's loader (``MLCL_TRUST_CHECKPOINTS=1`` opts out).

Example (COCO 2014, the paper's split; then the vector pipeline of the MulSupCon paper):

    python tools/dataset_converters/extract_image_features.py \\
        configs/baselines/resnet50_8xb8-bce-coslr-400e_coco2014.py \\
        checkpoints/resnet50_8xb32_in1k_20210831-ea4938fc.pth \\
        --out-dir data/coco2014_resnet50 --device cuda
    python tools/benchmarks/reproduce_mulsupcon_vectors.py --datasets coco2014-r50 \\
        --data-root data

A rerun skips the splits whose file was made from the same data, model and checkpoint, and
stops with an error naming the difference when it was not (``--overwrite`` remakes it).
"""
import argparse
import copy
import hashlib
import json
import os.path as osp
import sys
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

DEFAULT_MODEL = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
SPLITS = ('train', 'test')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    parser.add_argument('data_config', help='an image config whose train_dataloader and '
                        'test_dataloader name the data set (e.g. a BCE baseline config)')
    parser.add_argument('checkpoint', help='weights of the model config (a .pth file; a bare '
                        'torchvision ResNet state dict works for a ResNet backbone)')
    parser.add_argument('--model-config', default=DEFAULT_MODEL,
                        help='the model and its preprocessor (default: %(default)s)')
    parser.add_argument('--out-dir', required=True,
                        help='folder for <split>.npz and <split>.json')
    parser.add_argument('--data-root', default=None,
                        help="replaces the data config's data_root (e.g. ../shared/data/coco)")
    parser.add_argument('--splits', nargs='+', default=list(SPLITS), choices=SPLITS)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--num-workers', type=int, default=4)
    parser.add_argument('--device', default='cpu', help='cpu, cuda, cuda:1, ...')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--overwrite', action='store_true',
                        help='remake splits whose file exists, whatever made it')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f'--batch-size must be positive, got {args.batch_size}')
    if args.num_workers < 0:
        parser.error(f'--num-workers must be >= 0, got {args.num_workers}')
    return args


def split_dataset_config(cfg, split: str, source: str, data_root=None) -> dict:
    """The dataset of one split of an image config, with its deterministic test pipeline.

    Args:
        cfg (mmengine.Config): a config with ``train_dataloader`` and ``test_dataloader``.
        split (str): ``'train'`` (the training set whole: a ``subset`` carve-out becomes
            ``'all'``, a ``KFoldDataset`` carve-out is unwrapped) or ``'test'``.
        source (str): how to name the config in an error.
        data_root (str, optional): replaces the dataset's ``data_root``.

    Returns:
        dict: the dataset config.

    Raises:
        ValueError: the config lacks the loader or its dataset, or wraps it in another
            dataset, naming ``source``.
    """
    loaders = {'train': 'train_dataloader', 'test': 'test_dataloader'}
    test_loader = cfg.get('test_dataloader') or {}
    loader = cfg.get(loaders[split]) or {}
    if not loader.get('dataset') or not test_loader.get('dataset'):
        raise ValueError(f'{source} has no {loaders[split]} / test_dataloader with a dataset; '
                         'pass an image classification config that names its data')
    dataset = copy.deepcopy(loader['dataset'])
    dataset = dataset.to_dict() if hasattr(dataset, 'to_dict') else dict(dataset)
    if split == 'train' and dataset.get('type') == 'KFoldDataset':
        # a carve-out by wrapper (the VOC configs): the whole training set is the inner one
        dataset = dict(dataset['dataset'])
    if 'dataset' in dataset:
        raise ValueError(f'{source}: the {split} dataset wraps another one '
                         f'({dataset.get("type")}); pass a config with a plain dataset')
    pipeline = copy.deepcopy(test_loader['dataset'].get('pipeline'))
    if not pipeline:
        raise ValueError(f'{source}: the test dataset has no pipeline')
    dataset['pipeline'] = [p.to_dict() if hasattr(p, 'to_dict') else dict(p) for p in pipeline]
    if split == 'train' and dataset.get('subset', 'all') != 'all':
        # the vector data-set config carves its own validation part out of these rows
        dataset['subset'] = 'all'
    if data_root is not None:
        if not osp.isdir(data_root):
            raise FileNotFoundError(f'--data-root {data_root} is not a folder')
        dataset['data_root'] = data_root
    return dataset


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def _what_made(args, dataset_cfg, checkpoint_sha) -> dict:
    """What a split's file depends on (compared on a rerun), as JSON reads it back."""
    return json.loads(json.dumps({'dataset': dataset_cfg, 'model_config': args.model_config,
                                  'checkpoint_sha256': checkpoint_sha}))


def _differences(old: dict, new: dict) -> list:
    return [k for k in new if old.get(k) != new[k]]


def write_split(out_dir: str, split: str, embeddings, targets, classes, record) -> str:
    """Write ``<split>.npz`` then ``<split>.json``, each atomically (temp, fsync, rename).

    Args:
        out_dir (str): the output folder (created).
        split (str): ``'train'`` or ``'test'``.
        embeddings (np.ndarray): ``N x D`` float32.
        targets (np.ndarray): ``N x C`` 0/1.
        classes (list[str]): the C class names.
        record (dict): what made the file, with sizes and seconds (the ``.json``).

    Returns:
        str: the ``.npz`` path.
    """
    from mlcl_plugin.engine.checkpoint_io import write_file_atomically, write_text_atomically

    path = osp.join(out_dir, f'{split}.npz')
    X = np.ascontiguousarray(embeddings, dtype=np.float32)
    Y = np.ascontiguousarray(targets, dtype=np.uint8)
    names = np.asarray([str(c) for c in classes])
    write_file_atomically(path, lambda f: np.savez(f, X=X, Y=Y, label_names=names))
    # the .json last: a file without its record is remade by the next run
    write_text_atomically(osp.join(out_dir, f'{split}.json'),
                          json.dumps(record, indent=1, sort_keys=True) + '\n', 'utf-8')
    return path


def main(argv=None) -> dict:
    """Extract every requested split; returns ``{split: npz path}``."""
    args = parse_args(argv)
    from mlcl_plugin.analysis.embeddings import extract
    from mlcl_plugin.analysis.loading import build_dataset, build_model, load_config, set_threads

    set_threads(args.threads)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    data_cfg = load_config(args.data_config)
    model_cfg = load_config(args.model_config)
    checkpoint_sha = file_sha256(args.checkpoint)
    todo, written = [], {}
    for split in args.splits:
        dataset_cfg = split_dataset_config(data_cfg, split, args.data_config, args.data_root)
        made = _what_made(args, dataset_cfg, checkpoint_sha)
        npz, record = (osp.join(args.out_dir, f'{split}.{ext}') for ext in ('npz', 'json'))
        if osp.isfile(npz) and osp.isfile(record) and not args.overwrite:
            with open(record, encoding='utf-8') as f:
                old = json.load(f)
            differ = _differences(old, made)
            if differ:
                raise ValueError(
                    f'{npz} exists but was made with another {", ".join(differ)} (see '
                    f'{record}); pass --overwrite to remake it or choose another --out-dir')
            print(f'{split}: {npz} exists, made from the same data and weights; kept')
            written[split] = npz
            continue
        todo.append((split, dataset_cfg, made))
    if not todo:
        return written
    model = build_model(model_cfg, args.checkpoint, source=args.model_config,
                        device=args.device)
    for split, dataset_cfg, made in todo:
        dataset = build_dataset(dataset_cfg)
        start = time.time()
        ex = extract(model, dataset, stage='backbone', batch_size=args.batch_size,
                     num_workers=args.num_workers, with_scores=False,
                     source=f'{args.checkpoint} on the {split} split')
        seconds = time.time() - start
        record = dict(made, data_config=args.data_config, checkpoint=args.checkpoint,
                      rows=int(ex.embeddings.shape[0]),
                      num_features=int(ex.embeddings.shape[1]), num_classes=len(ex.classes),
                      seconds=round(seconds, 1))
        written[split] = write_split(args.out_dir, split, ex.embeddings, ex.targets,
                                     ex.classes, record)
        print(f'{split}: {record["rows"]} images -> {written[split]} ({record["num_features"]} '
              f'features, {record["num_classes"]} labels, {seconds:.0f} s)')
    return written


if __name__ == '__main__':
    main()
