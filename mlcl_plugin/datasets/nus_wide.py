# Copyright (c) mlcl_plugin authors. All rights reserved.
"""NUS-WIDE (81 concepts) read from the files of the official release.

The release (lms.comp.nus.edu.sg) ships the concept list, image lists and ground truth as
separate archives; :class:`NUSWIDE` reads them as they unpack::

    data/nus-wide
    ├── Concepts81.txt                      (ConceptsList: the 81 concepts, one per line)
    ├── ImageList
    │   ├── Imagelist.txt                   (all 269,648 images)
    │   ├── TrainImagelist.txt              (161,789 images)
    │   └── TestImagelist.txt               (107,859 images)
    ├── Groundtruth
    │   ├── TrainTestLabels
    │   │   ├── Labels_airport_Train.txt    (one 0/1 per line, aligned with TrainImagelist)
    │   │   ├── Labels_airport_Test.txt
    │   │   └── ...
    │   └── AllLabels
    │       ├── Labels_airport.txt          (aligned with Imagelist)
    │       └── ...
    └── Flickr
        ├── actor
        │   ├── 0001_2124494179.jpg
        │   └── ...
        └── ...
"""
import logging
import os.path as osp
import re
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
from mmengine.logging import print_log
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS

from .coco_multilabel import _inside, _may_escape
from .label_files import read_binary_matrix, read_name_list, read_text_lines
from .mulan import check_subset_indices
from .splits import carve_out, check_carve_out

SPLITS = ('train', 'test', 'all')
LABEL_SOURCES = ('train_test', 'all_labels', 'matrix')
IMAGE_LISTS = {
    'train': 'ImageList/TrainImagelist.txt',
    'test': 'ImageList/TestImagelist.txt',
    'all': 'ImageList/Imagelist.txt',
}
LABEL_DIRS = {
    'train_test': 'Groundtruth/TrainTestLabels',
    'all_labels': 'Groundtruth/AllLabels',
}
# Imagelist.txt names the images as they were stored when the set was made
_RELEASE_PREFIX = re.compile(r'^[A-Za-z]:/ImageData/Flickr/', re.IGNORECASE)


def normalise_image_entry(entry: str) -> str:
    """An image list entry as a path relative to the ``Flickr`` folder.

    Backslashes become ``/`` and the ``C:\\ImageData\\Flickr\\`` prefix of the release's
    ``Imagelist.txt`` is removed, so ``C:\\ImageData\\Flickr\\actor\\0001_2124494179.jpg`` and
    ``actor\\0001_2124494179.jpg`` both give ``actor/0001_2124494179.jpg``.

    Args:
        entry (str): One line of an image list.

    Returns:
        str: The normalised relative path.
    """
    return _RELEASE_PREFIX.sub('', entry.strip().replace('\\', '/'))


def read_image_list(path: str) -> List[str]:
    """The normalised entries of a NUS-WIDE image list, one per line.

    The label files are matched to the list line by line, so a blank line is only allowed
    after the last entry.

    Args:
        path (str): ``TrainImagelist.txt``, ``TestImagelist.txt`` or ``Imagelist.txt``.

    Returns:
        list[str]: Entry ``i`` is line ``i + 1``, see :func:`normalise_image_entry`.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it lists no image, has a blank line between entries, or lists an image
            twice (naming both lines).
    """
    lines = read_text_lines(path, 'image list')
    if not lines:
        raise ValueError(f'empty split: {path} lists no image')
    if lines[-1][0] != len(lines):
        gap = next(n for k, (n, _) in enumerate(lines, start=1) if n != k) - 1
        raise ValueError(f'{path} line {gap}: blank line between image entries (the label '
                         'files are matched to the list line by line)')
    entries = [normalise_image_entry(text) for _, text in lines]
    first: Dict[str, int] = {}
    for n, name in enumerate(entries, start=1):
        if name in first:
            raise ValueError(f'{path} line {n}: image {lines[n - 1][1]!r} is listed twice '
                             f'(first at line {first[name]})')
        first[name] = n
    return entries


@DATASETS.register_module()
class NUSWIDE(MultiLabelDataset):
    """NUS-WIDE multi-label classification with the 81 ground-truth concepts.

    Reads the official release (see the module docstring for the folder tree):

    - the concepts and their order from ``concepts_file`` (``Concepts81.txt``);
    - the images of the split from ``ann_file``, by default
      ``ImageList/TrainImagelist.txt`` (``split='train'``, 161,789 images),
      ``ImageList/TestImagelist.txt`` (``'test'``, 107,859) or ``ImageList/Imagelist.txt``
      (``'all'``, 269,648). Entries such as ``actor\\0001_2124494179.jpg`` (or with the
      ``C:\\ImageData\\Flickr\\`` prefix of ``Imagelist.txt``) are paths under
      ``data_prefix`` (``Flickr``);
    - the labels from one of three sources (``label_source``):

      * ``'train_test'`` (default): ``<label_dir>/Labels_<concept>_Train.txt`` (or
        ``_Test.txt``), ``label_dir='Groundtruth/TrainTestLabels'``; one 0/1 per line, line
        ``i`` belonging to line ``i`` of the split's image list. Only for ``'train'`` and
        ``'test'``.
      * ``'all_labels'``: ``<label_dir>/Labels_<concept>.txt``,
        ``label_dir='Groundtruth/AllLabels'``, aligned with ``all_image_list``
        (``ImageList/Imagelist.txt``); the split's images are looked up there by name.
      * ``'matrix'``: one file ``label_file`` (``AllLabels81.txt``) with one line of 81 0/1
        values per image of ``all_image_list``, columns in ``concepts_file`` order (the
        column-wise concatenation of ``AllLabels/Labels_<concept>.txt`` some hashing code
        bases use).

      Only the label files of the used classes are read, one numpy pass per file.

    ``metainfo=dict(classes=[...])`` (or ``classes=``) keeps a subset of the concepts, in the
    given order. Images without any positive label among the classes are dropped (as in the
    multi-label literature) unless ``keep_empty=True``.

    The official release has no validation split. ``subset='train'`` / ``'val'`` keeps the
    two parts of a seeded random carve-out of ``val_fraction`` of the split's kept images
    (``round(val_fraction * N)`` images by ``numpy.random.default_rng(val_seed).permutation``,
    :func:`mlcl_plugin.datasets.val_split_indices`, as ``COCOMultiLabel``), so a checkpoint can
    be chosen on a part of ``TrainImagelist.txt`` while ``TestImagelist.txt`` stays the test
    split. The carve-out runs after the empty-image drop and before ``indices``; both parts
    keep image-list order.

    Each sample has ``img_path``, ``gt_label`` (sorted class indices) and ``list_line``
    (1-based line of the image in ``ann_file``), in image-list order.

    Args:
        split (str): ``'train'``, ``'test'`` or ``'all'``. Defaults to ``'train'``.
        data_root (str): Root of every file below. Image paths must stay inside it.
            Defaults to ''.
        data_prefix (str | dict): Image folder under ``data_root``. Defaults to
            ``'Flickr'``.
        ann_file (str, optional): Image list of the split; None picks the official one of
            ``split``. Defaults to None.
        concepts_file (str): The concept list. Defaults to ``'Concepts81.txt'``.
        label_source (str): ``'train_test'``, ``'all_labels'`` or ``'matrix'``, see above.
            Defaults to ``'train_test'``.
        label_dir (str, optional): Folder of the per-concept label files; None picks the
            official one of ``label_source``. Defaults to None.
        label_file (str): The label matrix of ``label_source='matrix'``. Defaults to
            ``'AllLabels81.txt'``.
        all_image_list (str): The list of all images (rows of ``'all_labels'`` and
            ``'matrix'``). Defaults to ``'ImageList/Imagelist.txt'``.
        keep_empty (bool): Keep images without a positive label as all-negative samples.
            Defaults to False.
        check_images (bool): Check that every image of the split exists. Defaults to True.
        subset (str): ``'all'``, or ``'train'`` / ``'val'`` of the validation carve-out.
            Defaults to ``'all'``.
        val_fraction (float): Fraction of the kept images carved out as ``'val'``, in
            (0, 1) when ``subset`` is not ``'all'``. Defaults to 0.
        val_seed (int): Seed of the carve-out. Defaults to 0.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``metainfo``, ``classes``, ``indices``,
            ``lazy_init``, ...). ``indices`` must hold distinct indices in range.

    Raises:
        FileNotFoundError: A list or label file, or (``check_images``) an image, does not
            exist; the message names the file (for an image: the list, line and entry).
        ValueError: Bad input, naming the file, the line (and column) and the value: a class
            that is not a concept, a label file whose length differs from its image list, a
            value that is not 0 or 1, an image listed twice, an empty split, an image path
            leaving ``data_root``, a split image missing from ``all_image_list``.
    """

    def __init__(self,
                 split: str = 'train',
                 data_root: str = '',
                 data_prefix: Union[str, dict] = 'Flickr',
                 ann_file: Optional[str] = None,
                 concepts_file: str = 'Concepts81.txt',
                 label_source: str = 'train_test',
                 label_dir: Optional[str] = None,
                 label_file: str = 'AllLabels81.txt',
                 all_image_list: str = IMAGE_LISTS['all'],
                 keep_empty: bool = False,
                 check_images: bool = True,
                 subset: str = 'all',
                 val_fraction: float = 0.,
                 val_seed: int = 0,
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        check_carve_out(subset, val_fraction, f'NUSWIDE(split={split!r})')
        if label_source not in LABEL_SOURCES:
            raise ValueError(f'label_source must be one of {LABEL_SOURCES}, got '
                             f'{label_source!r}')
        if label_source == 'train_test' and split == 'all':
            raise ValueError("split='all' needs label_source='all_labels' or 'matrix' (the "
                             'TrainTestLabels files only cover the train and test lists)')
        self.split = split
        self.concepts_file = concepts_file
        self.label_source = label_source
        self.label_dir = label_dir if label_dir is not None else LABEL_DIRS.get(label_source)
        self.label_file = label_file
        self.all_image_list = all_image_list
        self.keep_empty = keep_empty
        self.check_images = check_images
        self.subset = subset
        self.val_fraction = float(val_fraction)
        self.val_seed = int(val_seed)
        # filled by load_data_list
        self.num_images_total: Optional[int] = None
        self.num_dropped: Optional[int] = None
        super().__init__(
            ann_file=IMAGE_LISTS[split] if ann_file is None else ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    def _resolve(self, path: str) -> str:
        return path if osp.isabs(path) or not self.data_root else osp.join(self.data_root, path)

    def _classes(self, concepts: List[str], concepts_path: str) -> List[str]:
        """The used classes: the metainfo ``classes`` (checked) or every concept."""
        classes = self._metainfo.get('classes')
        if classes is None:
            return concepts
        classes = [str(c) for c in classes]
        known = set(concepts)
        seen = set()
        for k, name in enumerate(classes, start=1):
            if name not in known:
                raise ValueError(f'class {name!r} (item {k} of the classes) is not a concept '
                                 f'of {concepts_path}')
            if name in seen:
                raise ValueError(f'class {name!r} (item {k} of the classes) appears twice')
            seen.add(name)
        if not classes:
            raise ValueError('the classes list is empty')
        return classes

    def _read_column(self, path: str, concept: str, num_rows: int, rows_from: str) -> np.ndarray:
        column = read_binary_matrix(path, 1, what=f'label file of concept {concept!r}')[:, 0]
        if len(column) != num_rows:
            raise ValueError(f'{path} has {len(column)} label lines, but the image list '
                             f'{rows_from} has {num_rows} images (line i of the label file '
                             'is line i of the list)')
        return column

    def _labels(self, concepts: List[str], classes: List[str],
                entries: List[str]) -> np.ndarray:
        """``len(entries) x len(classes)`` uint8 labels of the split's images."""
        if self.label_source == 'train_test':
            suffix = 'Train' if self.split == 'train' else 'Test'
            labels = np.empty((len(entries), len(classes)), dtype=np.uint8)
            for k, concept in enumerate(classes):
                path = self._resolve(osp.join(self.label_dir, f'Labels_{concept}_{suffix}.txt'))
                labels[:, k] = self._read_column(path, concept, len(entries), self.ann_file)
            return labels

        all_list = self._resolve(self.all_image_list)
        if osp.normpath(osp.abspath(all_list)) == osp.normpath(osp.abspath(self.ann_file)):
            all_entries, rows = entries, np.arange(len(entries))
        else:
            all_entries = read_image_list(all_list)
            row_of = {name: i for i, name in enumerate(all_entries)}
            rows = np.empty(len(entries), dtype=np.int64)
            for i, name in enumerate(entries):
                if name not in row_of:
                    raise ValueError(f'{self.ann_file} line {i + 1}: image {name!r} is not in '
                                     f'{all_list}')
                rows[i] = row_of[name]
        if self.label_source == 'all_labels':
            labels = np.empty((len(entries), len(classes)), dtype=np.uint8)
            for k, concept in enumerate(classes):
                path = self._resolve(osp.join(self.label_dir, f'Labels_{concept}.txt'))
                labels[:, k] = self._read_column(path, concept, len(all_entries), all_list)[rows]
            return labels
        path = self._resolve(self.label_file)
        matrix = read_binary_matrix(path, len(concepts), what='label matrix')
        if len(matrix) != len(all_entries):
            raise ValueError(f'{path} has {len(matrix)} label lines, but the image list '
                             f'{all_list} has {len(all_entries)} images (line i of the label '
                             'file is line i of the list)')
        index = {c: j for j, c in enumerate(concepts)}
        return matrix[np.ix_(rows, [index[c] for c in classes])]

    def _image_paths(self, entries: List[str], keep: np.ndarray) -> List[Tuple[int, str]]:
        """``(list line, image path)`` of the kept entries, checked to stay inside the root."""
        prefix = self.img_prefix
        root = self.data_root or prefix or ''
        prefix_inside = not prefix or _inside(prefix, root, True)
        out = []
        for i in keep.tolist():
            name = entries[i]
            path = osp.join(prefix, name) if prefix else name
            if (not prefix_inside or _may_escape(name)) and not _inside(path, root, True):
                raise ValueError(f'{self.ann_file} line {i + 1}: image path {name!r} leads '
                                 f'outside data_root {root or "."!r} (to {path!r})')
            if self.check_images and not osp.isfile(path):
                raise FileNotFoundError(f'{self.ann_file} line {i + 1}: image {name!r} not '
                                        f'found at {path}')
            out.append((i + 1, path))
        return out

    def load_data_list(self) -> List[dict]:
        """Read the concept list, the split's image list and its labels.

        Also sets ``metainfo['classes']``, ``num_images_total`` (images in the list) and
        ``num_dropped`` (images without a positive label that were dropped).

        Returns:
            list[dict]: ``img_path``, ``gt_label`` and ``list_line`` of each kept image.
        """
        concepts_path = self._resolve(self.concepts_file)
        concepts = read_name_list(concepts_path, 'concept')
        classes = self._classes(concepts, concepts_path)
        entries = read_image_list(self.ann_file)
        labels = self._labels(concepts, classes, entries)

        has_label = labels.any(axis=1)
        keep = np.arange(len(entries)) if self.keep_empty else np.flatnonzero(has_label)
        self._metainfo['classes'] = tuple(classes)
        self.num_images_total = len(entries)
        self.num_dropped = len(entries) - len(keep)
        if not len(keep):
            raise ValueError(f'empty split: no image of {self.ann_file} has a positive label '
                             f'among the {len(classes)} classes ({len(entries)} images, all '
                             'dropped; keep_empty=True keeps them as all-negative samples)')
        if self.num_dropped:
            print_log(f'NUSWIDE: {self.ann_file}: dropped {self.num_dropped} of {len(entries)} '
                      'images without a positive label (keep_empty=True keeps them)',
                      logger='current', level=logging.INFO)

        kept = labels[keep]
        rows, cols = np.nonzero(kept)
        per_image = np.split(cols, np.cumsum(np.bincount(rows, minlength=len(keep)))[:-1])
        return [
            dict(img_path=path, gt_label=gt.tolist(), list_line=line)
            for (line, path), gt in zip(self._image_paths(entries, keep), per_image)
        ]

    def filter_data(self) -> List[dict]:
        """The ``subset`` part of the validation carve-out (all samples for ``'all'``).

        Returns:
            list[dict]: The kept samples, in image-list order.
        """
        return carve_out(self.data_list, self.subset, self.val_fraction, self.val_seed,
                         self.ann_file)

    def _get_unserialized_subset(self, indices) -> list:
        # mmengine would wrap a negative index and repeat a repeated one without a word
        check_subset_indices(indices, len(self.data_list), self.ann_file)
        return super()._get_unserialized_subset(indices)

    @property
    def num_classes(self) -> int:
        """Number of classes (loads the files first if the dataset is still lazy)."""
        if self.CLASSES is None:
            self.full_init()
        return len(self.CLASSES)

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        body = [
            f'Split: \t{self.split}',
            f'Image list: \t{self.ann_file}',
            f'Label source: \t{self.label_source}',
            f'Prefix of images: \t{self.img_prefix}',
        ]
        if self.num_images_total is not None:
            body.append(f'Images dropped (no label): \t{self.num_dropped}')
        if self.subset != 'all':
            body.append(f'Subset: \t{self.subset} (val_fraction {self.val_fraction}, '
                        f'seed {self.val_seed})')
        return body

