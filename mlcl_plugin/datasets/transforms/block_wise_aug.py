# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Block-wise augmentation (BAM) of arXiv 2506.23156: overlapping blocks of one image as views.

Written from a description of the reference's behaviour (``docs/algorithms/blockwise.md``), not
from the reference code.
"""
import copy
import numbers
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmcv.transforms.utils import cache_randomness
from mmengine.registry import DefaultScope
from mmpretrain.registry import TRANSFORMS


def reference_pipelines(size: int = 224) -> List[List[dict]]:
    """The two view pipelines T1 and T2 of the 2506.23156 COCO script, as mmpretrain configs.

    T1: RandomResizedCrop(size, scale 0.2-1) -> ColorJitter(0.4, 0.4, 0.4, 0.1) with p 0.8 ->
    grayscale p 0.2 -> Gaussian blur sigma in [0.1, 2] with p 0.5 -> solarize p 0.5 ->
    horizontal flip p 0.5. T2 is identical except blur p 0.1 and solarize p 0.2
    (the reference's COCO script). The solarize threshold 128 is PIL's default (inferred).

    Args:
        size (int): output side of the square crops. Defaults to 224.

    Returns:
        list[list[dict]]: ``[T1, T2]``.
    """

    def view(blur_prob: float, solarize_prob: float) -> List[dict]:
        return [
            dict(type='RandomResizedCrop', scale=size, crop_ratio_range=(0.2, 1.0),
                 backend='pillow'),
            dict(type='RandomApply',
                 transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                                  saturation=0.4, hue=0.1)],
                 prob=0.8),
            dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
                 channel_weights=(0.114, 0.587, 0.2989)),
            dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf',
                 prob=blur_prob),
            dict(type='Solarize', thr=128, prob=solarize_prob),
            dict(type='RandomFlip', prob=0.5),
        ]

    return [view(0.5, 0.5), view(0.1, 0.2)]


def _axis_spans(size: int, num: int, gamma: float) -> List[Tuple[int, int]]:
    """``num`` overlapping spans covering ``[0, size]`` (one image axis).

    Cell ``j`` of the even integer grid ``[j * size // num, (j + 1) * size // num]`` is
    extended by ``gamma * size`` on each inner side and clipped to the image; the ends are
    rounded as PIL rounds a float crop box (Python's ``round``, half to even). For ``num = 2``
    this is the reference: ``[0, size // 2 + gamma * size]`` and
    ``[size // 2 - gamma * size, size]``.
    """
    cuts = [j * size // num for j in range(num + 1)]
    ext = gamma * size
    spans = []
    for j in range(num):
        lo = 0 if j == 0 else max(0, round(cuts[j] - ext))
        hi = size if j == num - 1 else min(size, round(cuts[j + 1] + ext))
        spans.append((lo, hi))
    return spans


def block_boxes(width: int, height: int, gamma: float,
                grid: Tuple[int, int] = (2, 2)) -> np.ndarray:
    """Pixel boxes of the overlapping blocks of a ``width x height`` image.

    The geometry of the 2506.23156 reference (``docs/algorithms/blockwise.md``) for a 2 x 2
    grid: the blocks are anchored at the corners and each covers ``1/2 + gamma`` of each side
    (``W // 2 + gamma * W``, rounded as PIL rounds a float crop box). Order: column-major,
    i.e. top-left, bottom-left, top-right, bottom-right for 2 x 2 (the reference's order).

    Args:
        width (int): W.
        height (int): H.
        gamma (float): overlap parameter, in ``[0, 0.5]``.
        grid (tuple[int, int]): blocks along x and y (columns, rows). Defaults to (2, 2).

    Returns:
        np.ndarray: ``num_blocks x 4`` int64 boxes ``(x0, y0, x1, y1)``, end-exclusive, i.e.
        the block is ``img[y0:y1, x0:x1]``.
    """
    xs = _axis_spans(int(width), grid[0], float(gamma))
    ys = _axis_spans(int(height), grid[1], float(gamma))
    return np.array([(x0, y0, x1, y1) for (x0, x1) in xs for (y0, y1) in ys], dtype=np.int64)


def _check_gamma(gamma) -> Union[float, Tuple[float, float]]:
    def ok(g):
        return isinstance(g, numbers.Real) and not isinstance(g, bool) and 0.0 <= g <= 0.5

    if ok(gamma):
        return float(gamma)
    if (isinstance(gamma, (tuple, list)) and len(gamma) == 2 and all(ok(g) for g in gamma)
            and gamma[0] <= gamma[1]):
        return (float(gamma[0]), float(gamma[1]))
    raise ValueError('BlockWiseAug: gamma must be a number in [0, 0.5] or a range (low, high) '
                     f'with 0 <= low <= high <= 0.5, got {gamma!r}')


def _check_grid(grid) -> Tuple[int, int]:
    if isinstance(grid, numbers.Integral) and not isinstance(grid, bool):
        grid = (grid, grid)
    if (isinstance(grid, (tuple, list)) and len(grid) == 2
            and all(isinstance(g, numbers.Integral) and not isinstance(g, bool) and g >= 1
                    for g in grid) and grid[0] * grid[1] >= 2):
        return (int(grid[0]), int(grid[1]))
    raise ValueError('BlockWiseAug: grid must be a positive int or (columns, rows) of positive '
                     f'ints with at least 2 blocks in total, got {grid!r}')


@TRANSFORMS.register_module()
class BlockWiseAug(BaseTransform):
    """Cut the image into overlapping blocks and run every view pipeline on every block.

    The block-wise augmentation module of "Self-Supervised Contrastive Learning for
    Multi-Label Images" (arXiv 2506.23156; ``docs/algorithms/blockwise.md``): the decoded
    image is cut once into a fixed grid of overlapping blocks (default 2 x 2 anchored at the
    corners, each ``1/2 + gamma`` of each side, see :func:`block_boxes`), and each of the N
    pipelines (default 2: the reference's T1 and T2, :func:`reference_pipelines`) is applied once
    to every block, so an image gives ``N x num_blocks`` views (8 by default). View ``v`` is
    pipeline ``v // num_blocks`` applied to block ``v % num_blocks`` (the reference order:
    views 0-3 = T1 on top-left, bottom-left, top-right, bottom-right; 4-7 = T2 on the same
    blocks), so views ``b`` and ``num_blocks + b`` are the SimSiam pair of block ``b``.

    Views are independent: each of the ``N x num_blocks`` pipeline runs gets its own writable,
    C-contiguous copy of its block (and its own deep copy of the other result fields, as
    mmpretrain's ``MultiView`` does), so a transform that writes into its input in place -
    numpy or torch (``torch.from_numpy(img).mul_(...)``) - changes only its own view, never
    another block, another pipeline's view of the same block or the caller's decoded image.
    The copies are cheap next to the reference pipelines themselves
    (``tools/benchmarks/benchmark_data_checks.py`` measures them).

    Put ``PackInputs(algorithm_keys=['block_idx', 'pipeline_idx'])`` after it so that the
    model can check the view layout (``BlockSimSiam`` / ``BlockMoCo`` do).

    Channels: H x W and H x W x 1 (grayscale) images are replicated to 3 channels and
    H x W x 4 images (BGRA/RGBA from ``LoadImageFromFile(color_type='unchanged')``) lose their
    alpha channel, so the colour transforms always see 3 channels; with
    ``convert_channels=False`` such images raise instead. Other channel counts always raise.

    Small images: a block smaller than the pipelines' crop size is upsampled by the crop
    transform (as the reference, whose RandomResizedCrop resizes any block to 224 px). An image
    so small that a block would have a side shorter than ``min_block_size`` pixels raises a
    ``ValueError`` naming the image and its size.

    **Required Keys:**

    - ``img``: the decoded image, ``np.ndarray`` H x W x 3 (or H x W, H x W x 1, H x W x 4,
      see above).

    **Modified Keys:**

    - ``img``: a list of ``N x num_blocks`` views (the pipelines' outputs), pipeline-major.
    - ``img_shape``: the shape ``(h, w)`` of the views (all views must have the same shape).

    **Added Keys:**

    - ``block_idx``: ``np.ndarray`` int64 ``(V,)``, the block of each view.
    - ``pipeline_idx``: ``np.ndarray`` int64 ``(V,)``, the pipeline of each view.
    - ``block_boxes``: ``np.ndarray`` int64 ``num_blocks x 4``, ``(x0, y0, x1, y1)`` of each
      block in the input image.
    - ``block_gamma``: the overlap used for this image (a float; drawn when ``gamma`` is a
      range).

    Args:
        transforms (list[list[dict | callable]], optional): the N view pipelines, each a list
            of transform configs (built with mmpretrain's ``TRANSFORMS`` inside the default
            scope ``mmpretrain``, so nested wrappers such as ``RandomApply`` resolve
            mmpretrain's transforms) or callables. Each pipeline must end with a fixed-size
            crop or resize so that all views can be batched. Defaults to the reference's
            T1/T2 at 224 px.
        gamma (float | tuple[float, float]): overlap; each block of a 2 x 2 grid covers
            ``1/2 + gamma`` of each side. A range ``(low, high)`` draws gamma uniformly per
            image. Must lie in ``[0, 0.5]`` (0.5: every block is the whole image).
            Defaults to 0.3 (the reference COCO script; its VOC script uses 0.2).
        grid (int | tuple[int, int]): blocks along x and y (columns, rows); an int means a
            square grid. Cell ``j`` of an even grid is extended by ``gamma`` of the side on
            each inner side. Defaults to 2 (the reference's 2 x 2).
        min_block_size (int): smallest accepted block side in pixels. Defaults to 1.
        convert_channels (bool): convert grayscale / 4-channel images to 3 channels (else
            raise). Defaults to True.
    """

    def __init__(self,
                 transforms: Optional[Sequence[Sequence[Union[dict, Callable]]]] = None,
                 gamma: Union[float, Tuple[float, float]] = 0.3,
                 grid: Union[int, Tuple[int, int]] = 2,
                 min_block_size: int = 1,
                 convert_channels: bool = True) -> None:
        if transforms is None:
            transforms = reference_pipelines()
        if (not isinstance(transforms, Sequence) or isinstance(transforms, (str, dict))
                or len(transforms) == 0
                or not all(isinstance(t, Sequence) and not isinstance(t, (str, dict))
                           for t in transforms)):
            raise TypeError('BlockWiseAug: transforms must be a non-empty list of pipelines, '
                            'each a list of transform configs, e.g. [[dict(type=...), ...], '
                            f'[...]]; got {transforms!r}')
        self.gamma = _check_gamma(gamma)
        self.grid = _check_grid(grid)
        if (not isinstance(min_block_size, numbers.Integral) or isinstance(min_block_size, bool)
                or min_block_size < 1):
            raise ValueError('BlockWiseAug: min_block_size must be a positive int, got '
                             f'{min_block_size!r}')
        self.min_block_size = int(min_block_size)
        self.convert_channels = bool(convert_channels)
        self.num_blocks = self.grid[0] * self.grid[1]
        self.pipelines = []
        # Nested wrappers (RandomApply, ...) build their children through mmcv's registry,
        # which finds mmpretrain's transforms only under the mmpretrain default scope.
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            for pipeline in transforms:
                steps = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
                self.pipelines.append(Compose(steps))
        self.num_pipelines = len(self.pipelines)
        self.num_views = self.num_pipelines * self.num_blocks
        # the view layout is the same for every image
        self._block_idx = np.tile(np.arange(self.num_blocks), self.num_pipelines)
        self._pipeline_idx = np.repeat(np.arange(self.num_pipelines), self.num_blocks)

    @cache_randomness
    def _draw_gamma(self) -> float:
        """Overlap of this image: ``gamma`` itself, or a uniform draw from its range."""
        if isinstance(self.gamma, tuple):
            # numpy's global generator, as mmpretrain's transforms: mmengine seeds it
            return float(np.random.uniform(*self.gamma))  # noqa: NPY002
        return self.gamma

    def _three_channels(self, img, results: dict) -> np.ndarray:
        where = f" (img_path={results['img_path']!r})" if 'img_path' in results else ''
        if not isinstance(img, np.ndarray):
            raise TypeError(f'BlockWiseAug: results["img"] must be a decoded numpy image '
                            f'(H x W x C), got {type(img).__name__}{where}')
        channels = 1 if img.ndim == 2 else (img.shape[2] if img.ndim == 3 else None)
        if channels == 3:
            return img
        if channels in (1, 4) and self.convert_channels:
            if channels == 4:
                return img[:, :, :3]  # drop alpha: BGRA -> BGR (RGBA -> RGB)
            gray = img if img.ndim == 2 else img[:, :, 0]
            return np.repeat(gray[:, :, None], 3, axis=2)
        hint = (' (grayscale / 4-channel images are converted only with '
                'convert_channels=True)' if channels in (1, 4) else '')
        raise ValueError(f'BlockWiseAug: expected an H x W x 3 image, got shape '
                         f'{tuple(img.shape)}{where}{hint}')

    def transform(self, results: dict) -> dict:
        """Cut ``results['img']`` into blocks and run every pipeline on every block.

        Args:
            results (dict): result dict with the decoded image under ``img``.

        Returns:
            dict: the same dict with the list of views and the added keys.
        """
        if 'img' not in results:
            raise KeyError('BlockWiseAug: results has no "img"; put LoadImageFromFile before '
                           f'it (keys: {sorted(results)})')
        img = self._three_channels(results['img'], results)
        height, width = img.shape[:2]
        gamma = self._draw_gamma()
        boxes = block_boxes(width, height, gamma, self.grid)
        sides = np.concatenate([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]])
        if sides.min() < self.min_block_size:
            where = f" {results['img_path']!r}" if 'img_path' in results else ''
            raise ValueError(
                f'BlockWiseAug: image{where} of {width} x {height} px is too small for a '
                f'{self.grid[0]} x {self.grid[1]} grid with gamma={gamma}: its smallest block '
                f'side would be {int(sides.min())} px < min_block_size={self.min_block_size}; '
                'filter such images or resize them before BlockWiseAug')
        # the blocks overlap and every block feeds every pipeline: only a private copy per
        # run keeps an in-place write (numpy, or torch through from_numpy, which ignores
        # numpy's read-only flag) inside its own view
        blocks = [img[y0:y1, x0:x1] for x0, y0, x1, y1 in boxes.tolist()]
        others = {k: v for k, v in results.items() if k != 'img'}
        views = []
        for p, pipeline in enumerate(self.pipelines):
            for b, block in enumerate(blocks):
                view = copy.deepcopy(others)
                view['img'] = np.array(block, order='C')
                view['img_shape'] = block.shape[:2]
                out = pipeline(view)
                if out is None:
                    raise ValueError(f'BlockWiseAug: pipeline {p} returned None for block {b} '
                                     '(a view cannot be dropped)')
                views.append(out['img'])
        shapes = {tuple(getattr(v, 'shape', ())) for v in views}
        if len(shapes) != 1:
            raise ValueError(f'BlockWiseAug: the views have different shapes {sorted(shapes)}; '
                             'end every pipeline with a fixed-size crop or resize so they can '
                             'be batched')

        results['img'] = views
        results['img_shape'] = tuple(views[0].shape[:2])
        results['block_idx'] = self._block_idx.copy()
        results['pipeline_idx'] = self._pipeline_idx.copy()
        results['block_boxes'] = boxes
        results['block_gamma'] = gamma
        return results

    def __repr__(self) -> str:
        repr_str = (f'{self.__class__.__name__}(gamma={self.gamma}, grid={self.grid}, '
                    f'min_block_size={self.min_block_size}, '
                    f'convert_channels={self.convert_channels}, '
                    f'num_views={self.num_views}')
        for i, pipeline in enumerate(self.pipelines):
            repr_str += f',\n  pipeline {i}: {pipeline}'
        return repr_str + ')'
