# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Multi-label image data sets described by one CSV file (one row per image).

The format most users already have: an image column and the labels, either as one 0/1 column
per class (``label_format='columns'``, e.g. MIML scene's ``labels.csv``) or as one column of
delimiter-separated class names (``label_format='names'``, e.g. PETA's
``annotations.csv``). A split list file selects rows; a seeded carve-out of that selection
gives a validation part, and a seeded fraction of it gives the label-efficiency subsets.
"""
import csv
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.fileio import list_from_file
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS

from .splits import SUBSETS, val_split_indices

LABEL_FORMATS = ('columns', 'names')


def _is_inside(path: str, root: str) -> bool:
    """Whether the normalised ``path`` lies inside ``root`` (no ``..`` escape)."""
    root = osp.normpath(osp.abspath(root))
    path = osp.normpath(osp.abspath(path))
    return osp.commonpath([root, path]) == root


@DATASETS.register_module()
class MultiLabelCsvDataset(MultiLabelDataset):
    """Multi-label images listed in a CSV file.

    Each row names one image (``image_column``, a path relative to ``data_root`` +
    ``data_prefix``) and its labels:

    - ``label_format='columns'``: one column per class holding ``0`` or ``1``. The classes are
      ``classes`` (a list or a text file with one name per line) or, when None, every header
      column except ``image_column`` and ``ignore_columns``. A class subset drops the other
      columns.
    - ``label_format='names'``: one column ``label_column`` of class names separated by
      ``label_delimiter`` (an empty cell is an all-negative row). ``classes`` (list or file)
      fixes the classes and their order; when None they are the sorted names found in the
      file. Names outside ``classes`` raise an error unless listed in ``vocabulary`` (a list
      or file of every valid name), in which case they are dropped: that is how a standard
      subset such as PETA's 35 attributes is read from a file carrying all 106.

    Rows are then selected by ``split_file`` (one image per line, as written in the image
    column; blank lines skipped), in the split file's order, else in the CSV's order.
    ``subset='train'`` / ``'val'`` keeps the two parts of a seeded random carve-out of
    ``val_fraction`` of the selected rows (the same rows for the same ``val_seed``, see
    :func:`mlcl_plugin.datasets.val_split_indices`). ``label_fraction`` then keeps a seeded
    random ``round(label_fraction * N)`` of the rows (at least one), for the label-efficiency
    protocol (pretrain on all images, fine-tune on a fraction of the labelled ones); the
    subset is nested: a smaller fraction with the same ``label_seed`` is a subset of a larger
    one.

    Every sample is ``dict(img_path=..., gt_label=<sorted class indices>, csv_row=<1-based
    line number in the CSV, header = 1>)``.

    Args:
        ann_file (str): The CSV file, relative to ``data_root`` unless absolute.
        data_root (str): Root of ``ann_file``, ``split_file``, class files and images.
            Image paths must stay inside it. Defaults to ''.
        data_prefix (str | dict): Image folder relative to ``data_root``. Defaults to ''.
        label_format (str): ``'columns'`` or ``'names'``. Defaults to ``'columns'``.
        image_column (str): Header of the image column. Defaults to ``'image'``.
        label_column (str): Header of the names column (``'names'`` format). Defaults to
            ``'labels'``.
        label_delimiter (str, optional): Separator of the names; None splits on any
            whitespace. Defaults to None.
        classes (str | Sequence[str], optional): The classes, as a list or a file (relative
            to ``data_root`` unless absolute) with one name per line. Defaults to None.
        vocabulary (str | Sequence[str], optional): Every valid name of the ``'names'``
            format, as a list or file; names in it but not in ``classes`` are dropped.
            Defaults to None.
        ignore_columns (Sequence[str]): Header columns that are not classes when the classes
            come from the header (``'columns'`` format). Defaults to ().
        split_file (str, optional): Images to keep, one per line. Defaults to None (all rows).
        subset (str): ``'all'``, ``'train'`` or ``'val'`` of the carve-out. Defaults to
            ``'all'``.
        val_fraction (float): Fraction of the selected rows carved out as ``'val'``.
            Defaults to 0.
        val_seed (int): Seed of the carve-out. Defaults to 0.
        label_fraction (float): Keep this fraction of the rows, in (0, 1]. Defaults to 1.
        label_seed (int): Seed of the ``label_fraction`` subset. Defaults to 0.
        check_images (bool): Check that every selected image exists (local files only).
            Defaults to True.
        csv_delimiter (str): Field separator of the CSV. Defaults to ``','``.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``indices``, ``lazy_init``, ...).

    Raises:
        FileNotFoundError: The CSV, split or class file, or an image, does not exist.
        ValueError: A bad row or setting; the message names the file, the row (line number)
            and the value: unknown class name, non-0/1 label value, duplicate image, image
            path outside ``data_root``, split entry not in the CSV, empty split, missing
            column.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 label_format: str = 'columns',
                 image_column: str = 'image',
                 label_column: str = 'labels',
                 label_delimiter: Optional[str] = None,
                 classes: Optional[Union[str, Sequence[str]]] = None,
                 vocabulary: Optional[Union[str, Sequence[str]]] = None,
                 ignore_columns: Sequence[str] = (),
                 split_file: Optional[str] = None,
                 subset: str = 'all',
                 val_fraction: float = 0.,
                 val_seed: int = 0,
                 label_fraction: float = 1.,
                 label_seed: int = 0,
                 check_images: bool = True,
                 csv_delimiter: str = ',',
                 **kwargs):
        if label_format not in LABEL_FORMATS:
            raise ValueError(f'label_format must be one of {LABEL_FORMATS}, got {label_format!r}')
        if subset not in SUBSETS:
            raise ValueError(f'subset must be one of {SUBSETS}, got {subset!r}')
        if subset != 'all' and not 0 < val_fraction < 1:
            raise ValueError(f'subset={subset!r} needs 0 < val_fraction < 1, got {val_fraction}')
        if not 0 < label_fraction <= 1:
            raise ValueError(f'label_fraction must be in (0, 1], got {label_fraction}')
        self.label_format = label_format
        self.image_column = image_column
        self.label_column = label_column
        self.label_delimiter = label_delimiter
        self.vocabulary = vocabulary
        self.ignore_columns = tuple(ignore_columns)
        self.split_file = split_file
        self.subset = subset
        self.val_fraction = float(val_fraction)
        self.val_seed = int(val_seed)
        self.label_fraction = float(label_fraction)
        self.label_seed = int(label_seed)
        self.check_images = check_images
        self.csv_delimiter = csv_delimiter
        # the class list is resolved in load_data_list (it may come from the header)
        self._classes_arg = classes
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         **kwargs)

    # ----------------------------------------------------------------------------------------
    def _resolve(self, path: str) -> str:
        return path if osp.isabs(path) or not self.data_root else osp.join(self.data_root, path)

    def _name_list(self, value: Union[str, Sequence[str]], what: str) -> List[str]:
        """A list of names given inline or as a file with one name per line."""
        if isinstance(value, str):
            path = self._resolve(value)
            if not osp.isfile(path):
                raise FileNotFoundError(f'{what} file not found: {path}')
            numbered = [(f'{path} line {n}', line.strip())
                        for n, line in enumerate(list_from_file(path), start=1)
                        if line.strip()]
            where = path
        else:
            numbered = [(f'the {what} list, item {n}', str(name))
                        for n, name in enumerate(value, start=1)]
            where = f'the {what} list'
        if not numbered:
            raise ValueError(f'{where} names no {what}')
        seen = {}
        for place, name in numbered:
            if name in seen:
                raise ValueError(f'{place}: {what} {name!r} appears twice (first at '
                                 f'{seen[name]})')
            seen[name] = place
        return [name for _, name in numbered]

    def _read_csv(self):
        path = self.ann_file
        if not osp.isfile(path):
            raise FileNotFoundError(f'CSV annotation file not found: {path}')
        with open(path, newline='', encoding='utf-8-sig') as f:
            reader = csv.reader(f, delimiter=self.csv_delimiter)
            try:
                header = [h.strip() for h in next(reader)]
            except StopIteration:
                raise ValueError(f'{path} is empty (no header row)') from None
            rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
        if self.image_column not in header:
            raise ValueError(f'{path}: no image column {self.image_column!r} in the header '
                             f'{header}')
        seen = set()
        for name in header:
            if name in seen:
                raise ValueError(f'{path} line 1: column {name!r} appears twice in the header')
            seen.add(name)
        return path, header, rows

    def _classes_from_columns(self, path: str, header: List[str]) -> List[str]:
        if self._classes_arg is None:
            skip = {self.image_column, *self.ignore_columns}
            classes = [h for h in header if h not in skip]
            if not classes:
                raise ValueError(f'{path}: the header {header} has no class column')
            return classes
        classes = self._name_list(self._classes_arg, 'class')
        missing = [c for c in classes if c not in header]
        if missing:
            raise ValueError(f'{path}: class {missing[0]!r} has no column in the header '
                             f'{header}')
        return classes

    def _labels_from_columns(self, path, header, rows, classes) -> Dict[int, List[int]]:
        col = [header.index(c) for c in classes]
        labels = {}
        for line, row in rows:
            if len(row) != len(header):
                raise ValueError(f'{path} line {line}: {len(row)} fields, the header has '
                                 f'{len(header)}')
            picked = []
            for k, (cls, j) in enumerate(zip(classes, col)):
                value = row[j].strip()
                if value not in ('0', '1'):
                    raise ValueError(f'{path} line {line}, column {cls!r}: label value '
                                     f'{row[j]!r} is not 0 or 1')
                if value == '1':
                    picked.append(k)
            labels[line] = picked
        return labels

    def _labels_from_names(self, path, header, rows) -> tuple:
        if self.label_column not in header:
            raise ValueError(f'{path}: no label column {self.label_column!r} in the header '
                             f'{header}')
        j = header.index(self.label_column)
        names_per_row = {}
        for line, row in rows:
            if len(row) != len(header):
                raise ValueError(f'{path} line {line}: {len(row)} fields, the header has '
                                 f'{len(header)}')
            names_per_row[line] = [n.strip() for n in row[j].split(self.label_delimiter)
                                   if n.strip()]
        vocabulary = None
        if self.vocabulary is not None:
            vocabulary = set(self._name_list(self.vocabulary, 'vocabulary'))
        if self._classes_arg is None:
            # every name found is a class, so a misspelt one is caught by the vocabulary (row
            # by row below) or not at all
            classes = sorted({n for names in names_per_row.values() for n in names
                              if vocabulary is None or n in vocabulary})
            if not classes:
                raise ValueError(f'{path}: no class name in column {self.label_column!r}')
        else:
            classes = self._name_list(self._classes_arg, 'class')
        index = {c: k for k, c in enumerate(classes)}
        known = set(index)
        if vocabulary is not None:
            outside = [c for c in classes if c not in vocabulary]
            if outside:
                raise ValueError(f'class {outside[0]!r} is not in the vocabulary '
                                 f'{self.vocabulary!r}')
            known |= vocabulary
        labels = {}
        for line, names in names_per_row.items():
            for name in names:
                if name not in known:
                    raise ValueError(f'{path} line {line}, column {self.label_column!r}: '
                                     f'unknown class name {name!r} (not in the classes'
                                     + (' nor the vocabulary)' if self.vocabulary else ')'))
            labels[line] = sorted({index[n] for n in names if n in index})
        return classes, labels

    def _select(self, path: str, image_of_line: Dict[int, str]) -> List[int]:
        """CSV line numbers kept by the split file, the carve-out and the label fraction."""
        if self.split_file is None:
            lines = list(image_of_line)
            where = path
        else:
            split = self._resolve(self.split_file)
            if not osp.isfile(split):
                raise FileNotFoundError(f'split file not found: {split}')
            line_of_image = {img: line for line, img in image_of_line.items()}
            lines, seen = [], set()
            for n, entry in enumerate(list_from_file(split), start=1):
                entry = entry.strip()
                if not entry:
                    continue
                if entry in seen:
                    raise ValueError(f'{split} line {n}: image {entry!r} is listed twice')
                seen.add(entry)
                if entry not in line_of_image:
                    raise ValueError(f'{split} line {n}: image {entry!r} is not in {path}')
                lines.append(line_of_image[entry])
            where = split
        if not lines:
            raise ValueError(f'empty split: {where} selects no image')
        if self.subset != 'all':
            train_idx, val_idx = val_split_indices(len(lines), self.val_fraction,
                                                   self.val_seed)
            keep = train_idx if self.subset == 'train' else val_idx
            lines = [lines[i] for i in keep]
        if self.label_fraction < 1:
            count = max(1, int(round(self.label_fraction * len(lines))))
            # a permutation prefix: a smaller fraction is a subset of a larger one
            order = np.random.default_rng(self.label_seed).permutation(len(lines))
            lines = [lines[i] for i in np.sort(order[:count])]
        return lines

    # ----------------------------------------------------------------------------------------
    def load_data_list(self) -> List[dict]:
        """Read, check and select the rows.

        Returns:
            list[dict]: ``img_path``, ``gt_label`` (sorted class indices) and ``csv_row``
            of each kept image.
        """
        path, header, rows = self._read_csv()
        if self.label_format == 'columns':
            classes = self._classes_from_columns(path, header)
            labels = self._labels_from_columns(path, header, rows, classes)
        else:
            classes, labels = self._labels_from_names(path, header, rows)
        self._metainfo['classes'] = tuple(classes)

        j = header.index(self.image_column)
        image_of_line, first_line = {}, {}
        for line, row in rows:
            image = row[j].strip()
            if not image:
                raise ValueError(f'{path} line {line}: empty image column '
                                 f'{self.image_column!r}')
            if image in first_line:
                raise ValueError(f'{path} line {line}: duplicate row for image {image!r} '
                                 f'(first at line {first_line[image]})')
            first_line[image] = line
            image_of_line[line] = image

        root = self.data_root or '.'
        data_list = []
        for line in self._select(path, image_of_line):
            image = image_of_line[line]
            img_path = osp.join(self.img_prefix, image) if self.img_prefix else image
            if osp.isabs(image) or not _is_inside(img_path, root):
                raise ValueError(f'{path} line {line}: image path {image!r} escapes data_root '
                                 f'{root!r}')
            if self.check_images and not osp.isfile(img_path):
                raise FileNotFoundError(f'{path} line {line}: image {image!r} not found at '
                                        f'{img_path}')
            data_list.append(dict(img_path=img_path, gt_label=labels[line], csv_row=line))
        return data_list

    @property
    def num_classes(self) -> int:
        """Number of classes (loads the CSV first if it is still lazy)."""
        if self.CLASSES is None:
            self.full_init()
        return len(self.CLASSES)

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [
            f'Annotation file: \t{self.ann_file}',
            f'Label format: \t{self.label_format}',
            f'Split file: \t{self.split_file}',
            f'Subset: \t{self.subset} (val_fraction {self.val_fraction}, seed {self.val_seed})',
            f'Label fraction: \t{self.label_fraction} (seed {self.label_seed})',
        ]
