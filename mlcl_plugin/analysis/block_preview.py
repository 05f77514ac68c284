# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Run a config's ``BlockWiseAug`` on one image and keep what a preview figure needs.

The config's pipeline is run up to and including its ``BlockWiseAug``
(:class:`mlcl_plugin.datasets.transforms.BlockWiseAug`): the image as it enters the
transform, the pixel boxes of its blocks and every pipeline's view of every block.
"""
import copy
import os.path as osp
import random
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np


@dataclass
class BlockPreview:
    """One image cut into blocks and augmented.

    Attributes:
        image (np.ndarray): ``H x W x 3`` uint8 RGB, the image entering ``BlockWiseAug``.
        boxes (np.ndarray): ``num_blocks x 4`` int64 ``(x0, y0, x1, y1)``, end-exclusive.
        views (list[list[np.ndarray]]): ``views[p][b]`` = pipeline ``p`` on block ``b``,
            ``h x w x 3`` uint8 RGB.
        gamma (float): the overlap used.
        grid (tuple[int, int]): (columns, rows).
        image_path (str): the image file.
    """

    image: np.ndarray
    boxes: np.ndarray
    views: List[List[np.ndarray]]
    gamma: float
    grid: Tuple[int, int]
    image_path: str

    def overlap_fraction(self) -> float:
        """Fraction of the image covered by two or more blocks.

        Returns:
            float: in ``[0, 1]``.
        """
        h, w = self.image.shape[:2]
        ys = np.arange(h)[None, :, None]
        xs = np.arange(w)[None, None, :]
        b = self.boxes[:, :, None, None]
        inside = ((xs >= b[:, 0]) & (xs < b[:, 2]) & (ys >= b[:, 1]) & (ys < b[:, 3]))
        return float((inside.sum(axis=0) >= 2).mean())


def _find(node, path: str = ''):
    """First ``(pipeline list, index, where)`` holding a ``BlockWiseAug`` dict, or None."""
    if isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            if isinstance(item, dict) and item.get('type') == 'BlockWiseAug':
                return node, i, path
        children = [(f'{path}[{i}]', item) for i, item in enumerate(node)]
    elif isinstance(node, dict):
        children = [(f'{path}.{key}' if path else str(key), value)
                    for key, value in node.items()]
    else:
        return None
    for where, child in children:
        found = _find(child, where)
        if found:
            return found
    return None


def find_block_wise_aug(cfg, source: str = 'the config') -> Tuple[list, str]:
    """The pipeline of a config up to and including its ``BlockWiseAug``.

    Looks in ``train_dataloader`` first, then anywhere in the config (e.g. a
    ``block_pipeline`` variable).

    Args:
        cfg (mmengine.Config | dict): the config.
        source (str): how to name the config in an error.

    Returns:
        tuple[list[dict], str]: the transform configs (deep copies, the last one the
        ``BlockWiseAug``) and where they were found.

    Raises:
        ValueError: no ``BlockWiseAug`` anywhere in the config.
    """
    tree = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    found = _find(tree.get('train_dataloader'), 'train_dataloader') or _find(tree)
    if not found:
        raise ValueError(f'{source} has no BlockWiseAug transform in any pipeline (e.g. '
                         'configs/real_photos/blocksimsiam_resnet18-w16_1xb64-sgd-15e_peta.py '
                         'has one)')
    pipeline, index, where = found
    return copy.deepcopy(list(pipeline[:index + 1])), where


def _rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.clip(img[:, :, :3][:, :, ::-1], 0, 255).astype(np.uint8)  # BGR -> RGB


def preview_blocks(pipeline: Sequence[dict], image_path: str,
                   gamma: Optional[Union[float, Tuple[float, float]]] = None,
                   grid: Optional[Union[int, Tuple[int, int]]] = None,
                   seed: int = 0) -> BlockPreview:
    """Run ``pipeline`` (ending with ``BlockWiseAug``) on one image file.

    Args:
        pipeline (Sequence[dict]): from :func:`find_block_wise_aug`.
        image_path (str): the image.
        gamma (float | tuple, optional): replaces the transform's ``gamma``.
        grid (int | tuple, optional): replaces the transform's ``grid``.
        seed (int): seeds numpy's and Python's global generators (mmpretrain's random
            transforms draw from them). Defaults to 0.

    Returns:
        BlockPreview: image, boxes and views in RGB.
    """
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import TRANSFORMS

    import mlcl_plugin  # noqa: F401  (registers BlockWiseAug)

    if not osp.isfile(image_path):
        raise FileNotFoundError(f'image {image_path} does not exist')
    steps = copy.deepcopy(list(pipeline))
    if not steps or steps[-1].get('type') != 'BlockWiseAug':
        raise ValueError('the pipeline must end with a BlockWiseAug transform')
    if gamma is not None:
        steps[-1]['gamma'] = gamma
    if grid is not None:
        steps[-1]['grid'] = grid
    init_default_scope('mmpretrain')
    before = Compose([TRANSFORMS.build(t) for t in steps[:-1]])
    block_aug = TRANSFORMS.build(steps[-1])
    np.random.seed(seed)  # noqa: NPY002  (mmpretrain's transforms use the global generators)
    random.seed(seed)
    results = before(dict(img_path=image_path))
    if results is None or 'img' not in results:
        raise ValueError(f'the transforms before BlockWiseAug gave no image for {image_path} '
                         '(is LoadImageFromFile first?)')
    image = _rgb(results['img'])
    results = block_aug(results)
    views = results['img']
    nb, npipe = block_aug.num_blocks, block_aug.num_pipelines
    return BlockPreview(image=image, boxes=np.asarray(results['block_boxes']),
                        views=[[_rgb(views[p * nb + b]) for b in range(nb)]
                               for p in range(npipe)],
                        gamma=float(results['block_gamma']), grid=tuple(block_aug.grid),
                        image_path=image_path)
