# Copyright (c) mlcl_plugin authors. All rights reserved.
"""ToyShapes: the embedded default multi-label image set (generated, deterministic).

The README's main job must run on a fresh machine without downloading anything, so the plugin
carries a generator instead of data. Every image holds 1 to ``max_objects`` shapes of distinct
classes at random positions and sizes, each in a random bright colour, on a random dark noisy
background.
A label is the *shape*, never the colour, so a representation must encode geometry to separate
the classes; a randomly initialised CNN encodes colour and texture well but shape poorly, which
makes the set a clear test for (multi-label) contrastive pretraining.

Output: ``root/images/{split}_{i:05d}.png`` and the OpenMMLab 2.0 multi-label annotation files
``root/{split}.json`` read by stock ``mmpretrain.datasets.MultiLabelDataset``.
"""
import json
import numbers
import os
import os.path as osp

import numpy as np
from PIL import Image, ImageDraw

TOY_SHAPES_CLASSES = ('square', 'disc', 'ring', 'triangle', 'plus', 'cross', 'diamond',
                      'hbar')


def _draw_shape(draw: ImageDraw.ImageDraw, cls: int, cx: float, cy: float, r: float,
                color: tuple) -> None:
    """Draw shape ``cls`` centred at (cx, cy) with half-size ``r``."""
    box = (cx - r, cy - r, cx + r, cy + r)
    width = max(2, int(round(r / 2.5)))
    name = TOY_SHAPES_CLASSES[cls]
    if name == 'square':
        draw.rectangle(box, fill=color)
    elif name == 'disc':
        draw.ellipse(box, fill=color)
    elif name == 'ring':
        draw.ellipse(box, outline=color, width=width)
    elif name == 'triangle':
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=color)
    elif name == 'plus':
        draw.line([(cx - r, cy), (cx + r, cy)], fill=color, width=width)
        draw.line([(cx, cy - r), (cx, cy + r)], fill=color, width=width)
    elif name == 'cross':
        draw.line([(cx - r, cy - r), (cx + r, cy + r)], fill=color, width=width)
        draw.line([(cx - r, cy + r), (cx + r, cy - r)], fill=color, width=width)
    elif name == 'diamond':
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=color)
    elif name == 'hbar':
        draw.rectangle((cx - r, cy - r / 3, cx + r, cy + r / 3), fill=color)
    else:  # pragma: no cover - guarded by TOY_SHAPES_CLASSES
        raise ValueError(f'unknown toy shape {name!r}')


def _render(rng: np.random.Generator, size: int, max_objects: int) -> tuple:
    """Render one image; returns (PIL image, sorted label list)."""
    num_classes = len(TOY_SHAPES_CLASSES)
    # dark background, bright shapes: colour varies but contrast is always high, so the
    # shapes are visible after colour jitter and the label depends on geometry alone
    bg = rng.integers(0, 90, size=3)
    noise = rng.normal(0, 12, size=(size, size, 3))
    canvas = np.clip(bg[None, None, :] + noise, 0, 255).astype(np.uint8)
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    count = int(rng.integers(1, max_objects + 1))
    labels = sorted(rng.choice(num_classes, size=count, replace=False).tolist())
    for cls in rng.permutation(labels):
        r = float(rng.uniform(0.16, 0.26) * size)
        cx, cy = rng.uniform(r, size - r, size=2)
        color = rng.integers(150, 256, size=3)
        _draw_shape(draw, int(cls), float(cx), float(cy), r, tuple(int(c) for c in color))
    return img, labels


def make_toy_shapes(root: str, num_train: int = 2400, num_test: int = 600, size: int = 32,
                    max_objects: int = 3, seed: int = 0, overwrite: bool = False) -> dict:
    """Generate the ToyShapes multi-label image set (deterministic for a given seed).

    Args:
        root (str): output folder.
        num_train (int): training images. Defaults to 2400.
        num_test (int): test images. Defaults to 600.
        size (int): square image side in pixels. Defaults to 32.
        max_objects (int): at most this many shapes (of distinct classes) per image.
            Defaults to 3.
        seed (int): random seed. Defaults to 0.
        overwrite (bool): regenerate even if ``root`` already holds a complete set with the
            same parameters. Defaults to False.

    Returns:
        dict: paths of the annotation files, ``{'train': ..., 'test': ...}``.

    Raises:
        ValueError: For a split without images (``num_train`` or ``num_test`` below 1: an
            empty split would only fail later, in a sampler or a metric) or ``max_objects``
            out of range.
    """
    for name, count in (('num_train', num_train), ('num_test', num_test)):
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 1:
            raise ValueError(f'{name} must be a positive int (a split without images cannot '
                             f'be trained or tested on), got {count!r}')
    if not 1 <= max_objects <= len(TOY_SHAPES_CLASSES):
        raise ValueError(f'max_objects must be in [1, {len(TOY_SHAPES_CLASSES)}], '
                         f'got {max_objects}')
    params = dict(num_train=num_train, num_test=num_test, size=size, max_objects=max_objects,
                  seed=seed, version=2)
    stamp = osp.join(root, 'toy_shapes.json')
    ann_files = {split: osp.join(root, f'{split}.json') for split in ('train', 'test')}
    if not overwrite and osp.isfile(stamp) and all(map(osp.isfile, ann_files.values())):
        with open(stamp) as f:
            if json.load(f) == params:
                return ann_files
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    # the stamp marks a complete set: drop it first so that an interrupted regeneration is
    # never taken for a finished one
    if osp.isfile(stamp):
        os.remove(stamp)
    rng = np.random.default_rng(seed)
    for split, count in (('train', num_train), ('test', num_test)):
        data_list = []
        for i in range(count):
            img, labels = _render(rng, size, max_objects)
            rel = f'images/{split}_{i:05d}.png'
            img.save(osp.join(root, rel))
            data_list.append(dict(img_path=rel, gt_label=labels))
        _dump_json(dict(metainfo=dict(classes=list(TOY_SHAPES_CLASSES)), data_list=data_list),
                   ann_files[split])
    _dump_json(params, stamp)
    return ann_files


def _dump_json(obj, path: str) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (temporary file, fsync, rename).

    Args:
        obj: JSON-serialisable content.
        path (str): Destination; a reader never sees it half written.
    """
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
