# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Convert a COCO-format ``instances_*.json`` into an OpenMMLab 2.0 multi-label annotation file.

The output is read by stock ``mmpretrain.datasets.MultiLabelDataset``::

    {"metainfo": {"classes": [...]},
     "data_list": [{"img_path": ..., "gt_label": [...], "img_id": ..., "width": ...,
                    "height": ...}, ...]}

Labels, class order and the drop policy are exactly those of ``COCOMultiLabel`` (the same
parsing code is used), so a dataset built from the output equals the ``COCOMultiLabel`` one.

Example (from the repository root)::

    python tools/dataset_converters/coco_to_multilabel_json.py \\
        data/coco/annotations/instances_train2014.json \\
        data/coco/annotations/multilabel_train2014.json --class-order alphabetical

and then ``dict(type='MultiLabelDataset', data_root='data/coco',
ann_file='annotations/multilabel_train2014.json', data_prefix='train2014')``.
"""
import argparse
import os.path as osp
import sys

# run from a checkout without installing the package
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import mmengine  # noqa: E402
from mmengine.fileio import join_path  # noqa: E402

from mlcl_plugin.datasets.coco_multilabel import (  # noqa: E402
    CLASS_ORDERS,
    load_coco_json,
    parse_coco_multilabel,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a COCO-format instances json into an OpenMMLab 2.0 multi-label '
        "annotation file (image-level labels = categories of the image's annotations).")
    parser.add_argument('ann_file', help='COCO-format annotation file (path or URI)')
    parser.add_argument('out_json', help='output annotation file')
    parser.add_argument(
        '--img-prefix',
        metavar='PREFIX',
        default='',
        help='prefix joined before each file_name in img_path (default: none, so set '
        'data_prefix to the image folder when loading)')
    parser.add_argument(
        '--class-order',
        choices=CLASS_ORDERS,
        default='coco',
        help='coco: ascending category id; alphabetical: sorted category names '
        '(ML-GCN order). Default: coco')
    parser.add_argument(
        '--keep-empty',
        action='store_true',
        help='keep images without annotation as all-negative rows (default: drop them)')
    parser.add_argument(
        '--skip-crowd', action='store_true', help='ignore iscrowd=1 annotations')
    return parser.parse_args(argv)


def convert(ann_file: str,
            out_json: str,
            img_prefix: str = '',
            class_order: str = 'coco',
            keep_empty: bool = False,
            skip_crowd: bool = False) -> dict:
    """Convert ``ann_file`` and write ``out_json``.

    Args:
        ann_file (str): COCO-format annotation file.
        out_json (str): Output file (its folder is created if needed).
        img_prefix (str): Prefix joined before each ``file_name``. Defaults to ''.
        class_order (str): ``'coco'`` or ``'alphabetical'``. Defaults to ``'coco'``.
        keep_empty (bool): Keep images without annotation. Defaults to False.
        skip_crowd (bool): Ignore ``iscrowd=1`` annotations. Defaults to False.

    Returns:
        dict: Summary with ``num_written``, ``num_dropped``, ``num_classes``.
    """
    info = parse_coco_multilabel(
        load_coco_json(ann_file),
        class_order=class_order,
        keep_empty=keep_empty,
        skip_crowd=skip_crowd,
        ann_file=ann_file)
    data_list = []
    for sample in info.samples:
        sample = dict(sample)
        file_name = sample.pop('file_name')
        img_path = join_path(img_prefix, file_name) if img_prefix else file_name
        data_list.append(dict(img_path=img_path, **sample))
    mmengine.dump({'metainfo': {'classes': list(info.classes)}, 'data_list': data_list},
                  out_json, file_format='json')
    return {
        'num_written': len(data_list),
        'num_dropped': info.num_dropped,
        'num_classes': len(info.classes),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    summary = convert(
        args.ann_file,
        args.out_json,
        img_prefix=args.img_prefix,
        class_order=args.class_order,
        keep_empty=args.keep_empty,
        skip_crowd=args.skip_crowd)
    print(f'{args.out_json}: {summary["num_written"]} images written, '
          f'{summary["num_dropped"]} dropped (no annotation), '
          f'{summary["num_classes"]} classes ({args.class_order} order)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
