# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Objects365 image-level multi-label targets, from its COCO-format box annotations.

:class:`Objects365MultiLabel` is :class:`~mlcl_plugin.datasets.COCOMultiLabel` (same parsing,
validation, class orders, drop policy and path checks) plus what Objects365 needs: a seeded
random subset of the images (the papers train on a part of the 600k / 1.7M images), the
``file_name`` layouts of the v1 and v2 releases, and an optional check that the images exist.
"""
import logging
import os.path as osp
import posixpath
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.logging import print_log
from mmpretrain.registry import DATASETS

from .coco_multilabel import COCOMultiLabel

FILE_NAME_MODES = ('as_is', 'patch', 'basename')
# images listed in zhiyuan_objv2_train.json but absent from the v2 image archives (the list
# mmdetection's Objects365V2Dataset skips), written as file_name_mode='patch' names
OBJECTS365_V2_MISSING_IMAGES = (
    'patch16/objects365_v2_00908726.jpg',
    'patch6/objects365_v1_00320532.jpg',
    'patch6/objects365_v1_00320534.jpg',
)


def objects365_subset_indices(num: int, subset_size: int, seed: int = 0) -> np.ndarray:
    """Sorted positions of a seeded random subset of ``subset_size`` out of ``num`` items.

    The first ``subset_size`` entries of ``numpy.random.default_rng(seed).permutation(num)``,
    sorted, so a smaller subset with the same seed lies inside a larger one.

    Args:
        num (int): Number of items.
        subset_size (int): Items to keep, in ``1..num``.
        seed (int): Seed of the permutation. Defaults to 0.

    Returns:
        np.ndarray: Sorted int64 positions.

    Raises:
        ValueError: If ``subset_size`` is not in ``1..num``.
    """
    if not 1 <= subset_size <= num:
        raise ValueError(f'subset_size={subset_size} is not in 1..{num} (the images there are)')
    return np.sort(np.random.default_rng(seed).permutation(num)[:subset_size])


def _short_name(file_name: str, mode: str) -> str:
    parts = [p for p in file_name.replace('\\', '/').split('/') if p]
    if mode == 'patch':
        return '/'.join(parts[-2:])
    return parts[-1] if parts else file_name


@DATASETS.register_module()
class Objects365MultiLabel(COCOMultiLabel):
    """Objects365 multi-label classification: an image's labels are its box categories.

    Everything of :class:`~mlcl_plugin.datasets.COCOMultiLabel` applies (``class_order``,
    ``keep_empty``, ``metainfo`` classes, the ``data_root`` escape check, errors naming the
    file and the image id). Keep ``class_order='coco'`` (ascending category id) or fixed
    ``classes`` so that train and val agree: the v1 files list their categories in different
    orders.

    Additions:

    - ``subset_size`` / ``subset_seed``: keep a seeded random subset of the (kept) images,
      see :func:`objects365_subset_indices`; samples stay in ascending image id order.
    - ``file_name_mode``: how the json's ``file_name`` maps to the image folder.
      ``'as_is'`` (v1: plain file names under ``train/`` / ``val/``); ``'patch'``
      keeps the last two parts (v2's ``images/v1/patch8/objects365_v1_00420917.jpg`` becomes
      ``patch8/objects365_v1_00420917.jpg`` under ``train/``, the layout of the v2 patch
      archives); ``'basename'`` keeps the file name only (a flattened copy). Two images that
      end up with the same name are an error.
    - ``exclude_file_names``: names (after ``file_name_mode``) to leave out with their boxes,
      e.g. :data:`OBJECTS365_V2_MISSING_IMAGES` for the v2 train file.
    - ``check_images``: check that every image of the (subset) list exists (local files).

    After loading, ``num_images_kept`` holds the number of images before the subset and
    ``num_excluded`` the number removed by ``exclude_file_names``.

    Args:
        ann_file (str): Objects365 annotation json (``objects365_train.json``,
            ``zhiyuan_objv2_train.json``, ...), relative to ``data_root`` unless absolute.
        data_root (str): Root of ``ann_file`` and ``data_prefix``. Defaults to ''.
        data_prefix (str | dict): Image folder under ``data_root``. Defaults to ''.
        subset_size (int, optional): Images to keep; None keeps all. Defaults to None.
        subset_seed (int): Seed of the subset. Defaults to 0.
        file_name_mode (str): ``'as_is'``, ``'patch'`` or ``'basename'``. Defaults to
            ``'as_is'``.
        exclude_file_names (Sequence[str]): Images to leave out. Defaults to ().
        check_images (bool): Check that the images exist. Defaults to False.
        **kwargs: Other arguments of :class:`~mlcl_plugin.datasets.COCOMultiLabel`
            (``class_order``, ``keep_empty``, ``skip_crowd``, ``allow_outside_root``,
            ``backend_args``, ``pipeline``, ``test_mode``, ``metainfo``, ...).

    Raises:
        FileNotFoundError: The annotation file, the image folder or (``check_images``) an
            image is missing; the message names the file and the image id.
        ValueError: As :class:`~mlcl_plugin.datasets.COCOMultiLabel` (duplicate images, ids
            or category names, unknown ids, paths leaving ``data_root``, no image left), and
            a ``subset_size`` larger than the number of images.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 subset_size: Optional[int] = None,
                 subset_seed: int = 0,
                 file_name_mode: str = 'as_is',
                 exclude_file_names: Sequence[str] = (),
                 check_images: bool = False,
                 **kwargs):
        if file_name_mode not in FILE_NAME_MODES:
            raise ValueError(f'file_name_mode must be one of {FILE_NAME_MODES}, got '
                             f'{file_name_mode!r}')
        if subset_size is not None and (isinstance(subset_size, bool)
                                        or not isinstance(subset_size, (int, np.integer))
                                        or subset_size < 1):
            raise ValueError(f'subset_size must be a positive int or None, got {subset_size!r}')
        if isinstance(exclude_file_names, str):
            raise TypeError('exclude_file_names must be a sequence of names, not one string')
        self.subset_size = None if subset_size is None else int(subset_size)
        self.subset_seed = int(subset_seed)
        self.file_name_mode = file_name_mode
        self.exclude_file_names = tuple(exclude_file_names)
        self.check_images = check_images
        # filled by load_data_list
        self.num_images_kept: Optional[int] = None
        self.num_excluded: Optional[int] = None
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         **kwargs)

    def _load_coco_dict(self) -> dict:
        """The annotation file with ``file_name_mode`` and ``exclude_file_names`` applied."""
        coco_dict = super()._load_coco_dict()
        images = coco_dict.get('images') if isinstance(coco_dict, dict) else None
        if not isinstance(images, list):
            return coco_dict  # the COCO checks report what is wrong
        if self.file_name_mode != 'as_is':
            for image in images:
                name = image.get('file_name') if isinstance(image, dict) else None
                if isinstance(name, str) and name.strip():
                    image['file_name'] = _short_name(name, self.file_name_mode)
        self.num_excluded = 0
        if self.exclude_file_names:
            exclude = {posixpath.normpath(n) for n in self.exclude_file_names}
            dropped = {
                image.get('id')
                for image in images if isinstance(image, dict)
                and isinstance(image.get('file_name'), str)
                and posixpath.normpath(image['file_name']) in exclude
            }
            if dropped:
                coco_dict['images'] = [
                    im for im in images if not (isinstance(im, dict) and im.get('id') in dropped)
                ]
                anns = coco_dict.get('annotations')
                if isinstance(anns, list):
                    coco_dict['annotations'] = [
                        a for a in anns
                        if not (isinstance(a, dict) and a.get('image_id') in dropped)
                    ]
                self.num_excluded = len(dropped)
                print_log(f'Objects365MultiLabel: {self.ann_file}: left out {len(dropped)} '
                          'images named in exclude_file_names', logger='current',
                          level=logging.INFO)
        return coco_dict

    def load_data_list(self) -> List[dict]:
        """Parse the annotation file (see ``COCOMultiLabel``), then take the subset.

        Returns:
            list[dict]: The samples of the subset, in ascending image id order.
        """
        data_list = super().load_data_list()
        self.num_images_kept = len(data_list)
        if self.subset_size is not None:
            if self.subset_size > len(data_list):
                raise ValueError(f'{self.ann_file}: subset_size={self.subset_size} is larger '
                                 f'than the {len(data_list)} images kept')
            keep = objects365_subset_indices(len(data_list), self.subset_size,
                                             self.subset_seed)
            data_list = [data_list[i] for i in keep.tolist()]
        if self.check_images:
            backend = get_file_backend(
                self.img_prefix or '.', enable_singleton=True, backend_args=self.backend_args)
            if isinstance(backend, LocalBackend):
                for sample in data_list:
                    if not osp.isfile(sample['img_path']):
                        raise FileNotFoundError(
                            f'{self.ann_file}: image id={sample["img_id"]} not found at '
                            f'{sample["img_path"]}')
        return data_list

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        body = super().extra_repr()
        body.append(f'File name mode: \t{self.file_name_mode}')
        if self.subset_size is not None:
            body.append(f'Subset: \t{self.subset_size} images (seed {self.subset_seed})')
        return body
