# Copyright (c) mlcl_plugin authors. All rights reserved.
"""MIRFLICKR-25k multi-label classification (24 potential labels) from the official files.

The collection (press.liacs.nl/mirflickr) comes as two archives, unpacked side by side::

    data/mirflickr25k
    ├── mirflickr                 (mirflickr25k.zip: im1.jpg ... im25000.jpg, plus meta/, doc/)
    │   ├── im1.jpg
    │   └── ...
    └── annotations               (mirflickr25k_annotations_v080.zip)
        ├── animals.txt           (image numbers, 1-based, one per line)
        ├── baby.txt
        ├── baby_r1.txt           (the "relevant" subset of baby.txt)
        ├── ...
        └── README.txt

The release gives no train / test split; :func:`mirflickr_split_indices` makes the seeded one
used by :class:`MIRFlickr25k` (19,664 / 4,917 images for the 24,581 labelled ones, the sizes
of the MulSupCon paper), and ``split_file`` reads a fixed one instead.
"""
import math
import os.path as osp
import re
from typing import List, Optional, Tuple, Union

import numpy as np
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS

from .coco_multilabel import _inside
from .label_files import read_text_lines
from .mulan import check_subset_indices
from .splits import carve_out, check_carve_out

# the 24 labels with an annotation file of their own ("potential" labels), in file-name order
POTENTIAL_LABELS = ('animals', 'baby', 'bird', 'car', 'clouds', 'dog', 'female', 'flower',
                    'food', 'indoor', 'lake', 'male', 'night', 'people', 'plant_life',
                    'portrait', 'river', 'sea', 'sky', 'structures', 'sunset', 'transport',
                    'tree', 'water')
# the 14 labels that also have a "<label>_r1.txt" file (images where the label is relevant)
RELEVANT_LABELS = ('baby', 'bird', 'car', 'clouds', 'dog', 'female', 'flower', 'male', 'night',
                   'people', 'portrait', 'river', 'sea', 'tree')
LABEL_SETS = {'potential': (POTENTIAL_LABELS, ''), 'relevant': (RELEVANT_LABELS, '_r1')}
SPLITS = ('train', 'test', 'all')
NUM_IMAGES = 25000
_ENTRY = re.compile(r'^(?:im)?(\d+)(?:\.jpg)?$')


def mirflickr_split_indices(num: int, train_fraction: float = 0.8,
                            seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Sorted ``(train, test)`` positions of a seeded random split of ``num`` items.

    ``numpy.random.default_rng(seed).permutation(num)``: its first
    ``floor(train_fraction * num)`` positions are the training part, the rest the test part.
    For the 24,581 MIRFLICKR images with a label and ``train_fraction=0.8`` that is 19,664 /
    4,917.

    Args:
        num (int): Number of items (the labelled images in ascending image number).
        train_fraction (float): Fraction in (0, 1) that goes to training. Defaults to 0.8.
        seed (int): Seed of the permutation. Defaults to 0.

    Returns:
        tuple[np.ndarray, np.ndarray]: Sorted int64 positions of each part.

    Raises:
        ValueError: If ``train_fraction`` is not in (0, 1).
    """
    if not 0 < train_fraction < 1:
        raise ValueError(f'train_fraction must be in (0, 1), got {train_fraction}')
    num_train = int(math.floor(train_fraction * num + 1e-9))
    perm = np.random.default_rng(seed).permutation(num)
    return np.sort(perm[:num_train]), np.sort(perm[num_train:])


@DATASETS.register_module()
class MIRFlickr25k(MultiLabelDataset):
    """MIRFLICKR-25k with the labels of the official annotation files.

    Labels (``label_set``):

    - ``'potential'`` (default): the 24 labels of ``<ann_dir>/<label>.txt`` (``animals``,
      ``baby``, ..., ``water``), an image counting as positive for every file that lists it.
      This is the 24-label set of the multi-label literature and of the MulSupCon paper.
    - ``'relevant'``: the 14 ``<ann_dir>/<label>_r1.txt`` files, the stricter subset where
      the annotators found the label salient. It cannot give 24 labels (only 14 labels have
      such a file).

    ``metainfo=dict(classes=[...])`` (or ``classes=``) keeps a subset of the set's labels, in
    the given order. Images without any of the labels are dropped unless ``keep_empty=True``:
    24,581 of the 25,000 images carry at least one potential label.

    Split: the kept images in ascending image number are split at random by
    :func:`mirflickr_split_indices` (``numpy.random.default_rng(split_seed).permutation``;
    the first ``floor(train_fraction * N)`` go to ``'train'``, the rest to ``'test'``), so
    the same seed always gives the same disjoint parts; ``'all'`` keeps every kept image.
    ``split_file`` replaces the random split: it lists the images to use (``im17.jpg`` or
    ``17``, one per line, blank lines skipped) and the samples follow its order; ``split``,
    ``split_seed`` and ``train_fraction`` are then unused.

    The release has no validation split either: ``subset='train'`` / ``'val'`` keeps the two
    parts of a seeded carve-out of ``val_fraction`` of the chosen split's images
    (:func:`mlcl_plugin.datasets.val_split_indices`, as ``COCOMultiLabel``), e.g. a
    validation part of the 19,664 training images for checkpoint selection while the 4,917
    test images stay the test split. It runs after the split and before ``indices``.

    Each sample has ``img_path`` (``<data_prefix>/im<N>.jpg``), ``gt_label`` (sorted class
    indices) and ``img_id`` (the image number ``N``).

    Args:
        split (str): ``'train'``, ``'test'`` or ``'all'``. Defaults to ``'train'``.
        data_root (str): Root of the annotation folder, images and split file. Image paths
            must stay inside it. Defaults to ''.
        data_prefix (str | dict): Image folder under ``data_root``. Defaults to
            ``'mirflickr'``.
        ann_dir (str): Folder of the annotation files. Defaults to ``'annotations'``.
        label_set (str): ``'potential'`` or ``'relevant'``. Defaults to ``'potential'``.
        split_seed (int): Seed of the random split. Defaults to 0.
        train_fraction (float): Fraction of the kept images in ``'train'``. Defaults to 0.8.
        split_file (str, optional): Images to use, one per line. Defaults to None.
        num_images (int): Images in the collection (``im1.jpg`` to ``im<num_images>.jpg``).
            Defaults to 25000.
        keep_empty (bool): Keep images without a label as all-negative samples. Defaults to
            False.
        check_images (bool): Check that every used image exists. Defaults to True.
        subset (str): ``'all'``, or ``'train'`` / ``'val'`` of the validation carve-out of
            the split. Defaults to ``'all'``.
        val_fraction (float): Fraction of the split's images carved out as ``'val'``, in
            (0, 1) when ``subset`` is not ``'all'``. Defaults to 0.
        val_seed (int): Seed of the carve-out. Defaults to 0.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``metainfo``, ``classes``, ``indices``,
            ``lazy_init``, ...). ``indices`` must hold distinct indices in range.

    Raises:
        FileNotFoundError: An annotation file, the split file or (``check_images``) an image
            does not exist; the message names the file (for an image: where it was listed).
        ValueError: Bad input, naming the file, the line and the value: an entry that is not
            an image number or outside ``1..num_images``, an image listed twice in one file,
            a class not in the label set, a split-file image without labels, an empty split,
            an image folder outside ``data_root``.
    """

    def __init__(self,
                 split: str = 'train',
                 data_root: str = '',
                 data_prefix: Union[str, dict] = 'mirflickr',
                 ann_dir: str = 'annotations',
                 label_set: str = 'potential',
                 split_seed: int = 0,
                 train_fraction: float = 0.8,
                 split_file: Optional[str] = None,
                 num_images: int = NUM_IMAGES,
                 keep_empty: bool = False,
                 check_images: bool = True,
                 subset: str = 'all',
                 val_fraction: float = 0.,
                 val_seed: int = 0,
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        check_carve_out(subset, val_fraction, f'MIRFlickr25k(split={split!r})')
        if label_set not in LABEL_SETS:
            raise ValueError(f'label_set must be one of {tuple(LABEL_SETS)}, got {label_set!r}')
        if not 0 < train_fraction < 1:
            raise ValueError(f'train_fraction must be in (0, 1), got {train_fraction}')
        if num_images < 1:
            raise ValueError(f'num_images must be positive, got {num_images}')
        self.split = split
        self.ann_dir = ann_dir
        self.label_set = label_set
        self.split_seed = int(split_seed)
        self.train_fraction = float(train_fraction)
        self.split_file = split_file
        self.num_images = int(num_images)
        self.keep_empty = keep_empty
        self.check_images = check_images
        self.subset = subset
        self.val_fraction = float(val_fraction)
        self.val_seed = int(val_seed)
        # filled by load_data_list
        self.num_labelled: Optional[int] = None
        super().__init__(ann_file='', data_root=data_root, data_prefix=data_prefix, **kwargs)

    def _resolve(self, path: str) -> str:
        return path if osp.isabs(path) or not self.data_root else osp.join(self.data_root, path)

    def _classes(self) -> List[str]:
        names, _ = LABEL_SETS[self.label_set]
        classes = self._metainfo.get('classes')
        if classes is None:
            return list(names)
        classes = [str(c) for c in classes]
        seen = set()
        for k, name in enumerate(classes, start=1):
            if name not in names:
                raise ValueError(f'class {name!r} (item {k} of the classes) is not one of the '
                                 f'{len(names)} {self.label_set} labels of MIRFLICKR-25k '
                                 f'{names}')
            if name in seen:
                raise ValueError(f'class {name!r} (item {k} of the classes) appears twice')
            seen.add(name)
        if not classes:
            raise ValueError('the classes list is empty')
        return classes

    def _image_number(self, text: str, path: str, line: int) -> int:
        match = _ENTRY.match(text)
        if not match:
            raise ValueError(f'{path} line {line}: {text!r} is not an image number')
        number = int(match.group(1))
        if not 1 <= number <= self.num_images:
            raise ValueError(f'{path} line {line}: image number {number} is outside '
                             f'1..{self.num_images}')
        return number

    def _read_labels(self, classes: List[str]) -> Tuple[np.ndarray, dict]:
        """``num_images x C`` labels and where each image was first listed."""
        _, suffix = LABEL_SETS[self.label_set]
        ann_dir = self._resolve(self.ann_dir)
        labels = np.zeros((self.num_images, len(classes)), dtype=np.uint8)
        source = {}
        for k, name in enumerate(classes):
            path = osp.join(ann_dir, f'{name}{suffix}.txt')
            first = {}
            for line, text in read_text_lines(path, f'annotation file of label {name!r}'):
                number = self._image_number(text, path, line)
                if number in first:
                    raise ValueError(f'{path} line {line}: image {number} is listed twice '
                                     f'(first at line {first[number]})')
                first[number] = line
                source.setdefault(number, f'{path} line {line}')
            if first:
                labels[np.fromiter(first, dtype=np.int64) - 1, k] = 1
        return labels, source

    def _from_split_file(self, pool: np.ndarray, num_classes: int,
                         source: dict) -> List[int]:
        path = self._resolve(self.split_file)
        in_pool = np.zeros(self.num_images + 1, dtype=bool)
        in_pool[pool] = True
        numbers, first = [], {}
        for line, text in read_text_lines(path, 'split file'):
            number = self._image_number(osp.basename(text), path, line)
            if number in first:
                raise ValueError(f'{path} line {line}: image im{number}.jpg is listed twice '
                                 f'(first at line {first[number]})')
            if not in_pool[number]:
                raise ValueError(f'{path} line {line}: image im{number}.jpg has none of the '
                                 f'{num_classes} labels (keep_empty=True keeps such images)')
            first[number] = line
            source[number] = f'{path} line {line}'
            numbers.append(number)
        if not numbers:
            raise ValueError(f'empty split: {path} lists no image')
        return numbers

    def load_data_list(self) -> List[dict]:
        """Read the annotation files and select the split.

        Also sets ``metainfo['classes']`` and ``num_labelled`` (images with at least one of
        the labels).

        Returns:
            list[dict]: ``img_path``, ``gt_label`` and ``img_id`` of each image of the split.
        """
        classes = self._classes()
        labels, source = self._read_labels(classes)
        labelled = labels.any(axis=1)
        self._metainfo['classes'] = tuple(classes)
        self.num_labelled = int(labelled.sum())
        pool = (np.arange(self.num_images) if self.keep_empty else
                np.flatnonzero(labelled)) + 1  # image numbers, ascending
        if not len(pool):
            raise ValueError(f'empty split: no image of {self._resolve(self.ann_dir)} has one '
                             f'of the {len(classes)} labels (keep_empty=True keeps them)')

        if self.split_file is not None:
            numbers = self._from_split_file(pool, len(classes), source)
        elif self.split == 'all':
            numbers = pool.tolist()
        else:
            train, test = mirflickr_split_indices(len(pool), self.train_fraction,
                                                  self.split_seed)
            part = train if self.split == 'train' else test
            if not len(part):
                raise ValueError(f'empty split: train_fraction={self.train_fraction} of '
                                 f'{len(pool)} images leaves no {self.split!r} image')
            numbers = pool[part].tolist()

        prefix = self.img_prefix
        root = self.data_root or prefix or ''
        if prefix and not _inside(prefix, root, True):
            raise ValueError(f'image folder {prefix!r} (data_prefix={self.data_prefix!r}) '
                             f'leads outside data_root {root!r}')
        data_list = []
        for number in numbers:
            name = f'im{number}.jpg'
            path = osp.join(prefix, name) if prefix else name
            if self.check_images and not osp.isfile(path):
                where = source.get(number, 'kept by keep_empty=True')
                raise FileNotFoundError(f'image {name} ({where}) not found at {path}')
            data_list.append(dict(img_path=path, gt_label=np.flatnonzero(
                labels[number - 1]).tolist(), img_id=number))
        return data_list

    def filter_data(self) -> List[dict]:
        """The ``subset`` part of the validation carve-out (all samples for ``'all'``).

        Returns:
            list[dict]: The kept samples, in the split's order.
        """
        return carve_out(self.data_list, self.subset, self.val_fraction, self.val_seed,
                         f'{self._resolve(self.ann_dir)} ({self.split} split)')

    def _get_unserialized_subset(self, indices) -> list:
        # mmengine would wrap a negative index and repeat a repeated one without a word
        check_subset_indices(indices, len(self.data_list), self._resolve(self.ann_dir))
        return super()._get_unserialized_subset(indices)

    @property
    def num_classes(self) -> int:
        """Number of classes (loads the files first if the dataset is still lazy)."""
        if self.CLASSES is None:
            self.full_init()
        return len(self.CLASSES)

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        split = (f'split file {self.split_file}' if self.split_file is not None else
                 f'{self.split} (seed {self.split_seed}, train fraction {self.train_fraction})')
        body = [
            f'Annotation folder: \t{self._resolve(self.ann_dir)}',
            f'Label set: \t{self.label_set}',
            f'Split: \t{split}',
            f'Prefix of images: \t{self.img_prefix}',
        ]
        if self.subset != 'all':
            body.append(f'Subset: \t{self.subset} (val_fraction {self.val_fraction}, '
                        f'seed {self.val_seed})')
        return body
