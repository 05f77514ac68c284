# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Image-level multi-label targets from COCO-format ``instances_*.json`` files.

:func:`load_coco_json` reads the file through mmengine's file backends,
:func:`parse_coco_multilabel` validates it and turns the box annotations into per-image label
sets, and :class:`COCOMultiLabel` is the mmpretrain dataset built on both.
``tools/dataset_converters/coco_to_multilabel_json.py`` reuses the same two functions, so the
dataset and the converted JSON always agree.
"""
import contextlib
import io
import json
import logging
import os.path as osp
import posixpath
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

from mmengine.fileio import LocalBackend, get, get_file_backend
from mmengine.logging import print_log
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS
from pycocotools.coco import COCO

from .mulan import check_subset_indices
from .splits import carve_out, check_carve_out

CLASS_ORDERS = ('coco', 'alphabetical')

_REQUIRED_TOP_KEYS = ('images', 'annotations', 'categories')
_REQUIRED_IMAGE_KEYS = ('id', 'file_name')
# pycocotools indexes annotations by ``id``, so an annotation without one cannot be indexed
_REQUIRED_ANN_KEYS = ('id', 'image_id', 'category_id')
_REQUIRED_CAT_KEYS = ('id', 'name')


class CocoMultiLabelInfo(NamedTuple):
    """Result of :func:`parse_coco_multilabel`.

    Attributes:
        classes (tuple[str]): Category names; position ``i`` is label index ``i``.
        cat_ids (tuple): COCO category id of each class, in the same order as ``classes``.
        samples (list[dict]): One dict per kept image, in ascending image id order, with keys
            ``file_name``, ``img_id``, ``width``, ``height`` (``None`` when the file has no
            such field) and ``gt_label`` (sorted unique class indices).
        num_images (int): Number of images in the file.
        num_empty (int): Number of images without any (counted) annotation.
        num_dropped (int): Number of those dropped: ``num_empty``, or 0 with ``keep_empty``.
        dropped_file_names (tuple[str]): ``file_name`` of each dropped image, in ascending
            image id order.
    """

    classes: Tuple[str, ...]
    cat_ids: tuple
    samples: List[dict]
    num_images: int
    num_empty: int
    num_dropped: int
    dropped_file_names: Tuple[str, ...] = ()


def load_coco_json(ann_file: str, backend_args: Optional[dict] = None) -> dict:
    """Read a COCO-format annotation file through mmengine's file backends.

    Args:
        ann_file (str): Path or URI of the JSON file (any backend mmengine knows).
        backend_args (dict, optional): Arguments to instantiate the file backend.
            Defaults to None.

    Returns:
        dict: The parsed JSON content (not validated, see :func:`parse_coco_multilabel`).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is not valid JSON.
    """
    try:
        content = get(ann_file, backend_args=backend_args)
    except FileNotFoundError as err:
        raise FileNotFoundError(f'COCO annotation file not found: {ann_file}') from err
    try:
        return json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f'{ann_file} is not a valid JSON file: {err}') from err


def _check_fields(items, kind: str, required: Sequence[str], ann_file: str) -> None:
    if not isinstance(items, list):
        raise ValueError(f'"{kind}" must be a list in {ann_file}, got {type(items).__name__}')
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f'{kind}[{i}] is not a dict in {ann_file}')
        for key in required:
            if key not in item:
                # the element's id (when present) locates it in a large file
                where = f'{kind}[{i}]' + (f' (id={item["id"]})' if 'id' in item else '')
                raise ValueError(
                    f'{where} has no "{key}" field in {ann_file}; not a COCO instances file')


def _check_unique(values, what: str, ann_file: str) -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise ValueError(f'duplicate {what} {value!r} in {ann_file}')
        seen.add(value)


def _check_file_names(images: list, ann_file: str) -> None:
    """Every image needs a non-empty ``file_name`` string naming a different file.

    Two entries for one photo (the same ``file_name`` up to ``.`` / repeated separators, e.g.
    under two ids) would train on it twice, possibly with two different label sets.

    Args:
        images (list[dict]): The ``images`` of the file (``id`` already checked).
        ann_file (str): The file, for the message.

    Raises:
        ValueError: Naming both entries (index and id) and the file.
    """
    first = {}
    for i, im in enumerate(images):
        name = im['file_name']
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f'images[{i}] (id={im["id"]}) has file_name={name!r}, not a '
                             f'non-empty path, in {ann_file}')
        key = posixpath.normpath(name)
        if key in first:
            j = first[key]
            raise ValueError(
                f'images[{i}] (id={im["id"]}) and images[{j}] (id={images[j]["id"]}) are the '
                f'same image file {name!r} in {ann_file}: duplicate image entries would count '
                'one photo twice; merge their annotations under one image id')
        first[key] = i


def _validate_coco_dict(coco_dict, ann_file: str) -> None:
    if not isinstance(coco_dict, dict):
        raise ValueError(f'{ann_file} does not hold a COCO instances dict '
                         f'(top level is {type(coco_dict).__name__})')
    for key in _REQUIRED_TOP_KEYS:
        if key not in coco_dict:
            raise ValueError(f'{ann_file} has no "{key}" field; not a COCO instances file '
                             f'(needs {", ".join(_REQUIRED_TOP_KEYS)})')
    _check_fields(coco_dict['images'], 'images', _REQUIRED_IMAGE_KEYS, ann_file)
    _check_fields(coco_dict['annotations'], 'annotations', _REQUIRED_ANN_KEYS, ann_file)
    _check_fields(coco_dict['categories'], 'categories', _REQUIRED_CAT_KEYS, ann_file)
    if not coco_dict['categories']:
        raise ValueError(f'{ann_file} defines no categories')
    _check_unique((c['id'] for c in coco_dict['categories']), 'category id', ann_file)
    _check_unique((c['name'] for c in coco_dict['categories']), 'category name', ann_file)
    _check_unique((im['id'] for im in coco_dict['images']), 'image id', ann_file)
    _check_file_names(coco_dict['images'], ann_file)
    # pycocotools keeps one annotation per id, so duplicates would silently lose labels
    _check_unique((a['id'] for a in coco_dict['annotations']), 'annotation id', ann_file)

    cat_ids = {c['id'] for c in coco_dict['categories']}
    img_ids = {im['id'] for im in coco_dict['images']}
    for ann in coco_dict['annotations']:
        if ann['category_id'] not in cat_ids:
            raise ValueError(f'annotation id={ann["id"]} has category_id={ann["category_id"]!r}'
                             f' which is not in "categories" of {ann_file}')
        if ann['image_id'] not in img_ids:
            raise ValueError(f'annotation id={ann["id"]} refers to image_id={ann["image_id"]!r}'
                             f' which is not in "images" of {ann_file}')


def build_coco_api(coco_dict: dict) -> COCO:
    """Build a pycocotools ``COCO`` object from an already parsed dict, without its prints."""
    coco = COCO()
    coco.dataset = coco_dict
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _ordered_categories(coco: COCO, class_order: str, classes: Optional[Sequence[str]],
                        ann_file: str) -> Tuple[Tuple[str, ...], tuple]:
    cats = coco.loadCats(coco.getCatIds())
    name_to_id = {c['name']: c['id'] for c in cats}
    if classes is not None:
        classes = tuple(classes)
        unknown = [name for name in classes if name not in name_to_id]
        missing = [name for name in name_to_id if name not in set(classes)]
        duplicated = sorted({name for name in classes if classes.count(name) > 1})
        if unknown or missing or duplicated:
            raise ValueError(
                f'metainfo classes must be the category names of {ann_file} in any order; '
                f'unknown names: {unknown}, missing names: {missing}, '
                f'duplicated names: {duplicated}')
        names = classes
    elif class_order == 'coco':
        names = tuple(c['name'] for c in sorted(cats, key=lambda c: c['id']))
    elif class_order == 'alphabetical':
        names = tuple(sorted(name_to_id))
    else:
        raise ValueError(f'class_order must be one of {CLASS_ORDERS}, got {class_order!r}')
    return names, tuple(name_to_id[name] for name in names)


def parse_coco_multilabel(coco_dict: dict,
                          class_order: str = 'coco',
                          classes: Optional[Sequence[str]] = None,
                          keep_empty: bool = False,
                          skip_crowd: bool = False,
                          ann_file: str = '<COCO dict>') -> CocoMultiLabelInfo:
    """Turn a COCO instances dict into image-level multi-label samples.

    An image's labels are the set of categories of its annotations (boxes / masks), mapped to
    contiguous indices ``0..C-1`` by the class order.

    Args:
        coco_dict (dict): Parsed COCO-format JSON with ``images``, ``annotations`` and
            ``categories``.
        class_order (str): ``'coco'`` (ascending category id) or ``'alphabetical'`` (names
            sorted by Python's ``sorted``). Ignored when ``classes`` is given.
            Defaults to ``'coco'``.
        classes (Sequence[str], optional): Explicit class order; must be exactly the set of
            category names of the file. Defaults to None.
        keep_empty (bool): Keep images without any counted annotation as all-negative
            samples instead of dropping them. Defaults to False.
        skip_crowd (bool): Ignore ``iscrowd=1`` annotations. Defaults to False.
        ann_file (str): Name of the source, only used in error messages.

    Returns:
        CocoMultiLabelInfo: classes, their category ids, the samples (ascending image id),
        and image counts.

    Raises:
        ValueError: If the dict is not a valid COCO instances dict (missing field, unknown
            category or image id, duplicate ids, category names or image files, a
            ``file_name`` that is not a non-empty string), if ``class_order`` is unknown, if
            ``classes`` differs from the file's category names, or if no sample is left.
    """
    _validate_coco_dict(coco_dict, ann_file)
    coco = build_coco_api(coco_dict)
    names, cat_ids = _ordered_categories(coco, class_order, classes, ann_file)
    cat_to_label = {cat_id: i for i, cat_id in enumerate(cat_ids)}

    samples = []
    num_empty = 0
    dropped = []
    img_ids = sorted(coco.getImgIds())
    for img_id in img_ids:
        img = coco.imgs[img_id]
        # imgToAnns rather than getAnnIds: the latter needs an "iscrowd" key on every annotation
        anns = coco.imgToAnns.get(img_id, [])
        if skip_crowd:
            anns = [a for a in anns if not a.get('iscrowd', 0)]
        labels = sorted({cat_to_label[a['category_id']] for a in anns})
        if not labels:
            num_empty += 1
            if not keep_empty:
                dropped.append(img['file_name'])
                continue
        samples.append({
            'file_name': img['file_name'],
            'img_id': img_id,
            'width': img.get('width'),
            'height': img.get('height'),
            'gt_label': labels,
        })
    if not samples:
        # an empty data set only fails later, in a sampler or a metric, without the file
        what = ('lists no images' if not img_ids else
                f'has no image with a{" non-crowd" if skip_crowd else "n"} annotation '
                f'({len(img_ids)} images, all dropped; keep_empty=True keeps them as '
                'all-negative samples)')
        raise ValueError(f'{ann_file} {what}: no samples left')
    return CocoMultiLabelInfo(
        classes=names,
        cat_ids=cat_ids,
        samples=samples,
        num_images=len(img_ids),
        num_empty=num_empty,
        num_dropped=len(img_ids) - len(samples),
        dropped_file_names=tuple(dropped))


def _may_escape(file_name: str) -> bool:
    """Whether a ``file_name`` could lead outside its folder (absolute, URL or ``..``).

    Args:
        file_name (str): The image's ``file_name``.

    Returns:
        bool: False when the name surely stays inside the folder it is joined to.
    """
    # "/" and "\\" cover absolute POSIX / Windows paths, ":" drive letters and URLs
    return '..' in file_name or file_name.startswith(('/', '\\')) or ':' in file_name


def _inside(path: str, root: str, local: bool) -> bool:
    """Whether ``path`` lies inside ``root`` after normalisation (links are not resolved).

    Local paths are made absolute first; other backends' paths (URLs) are compared as
    normalised POSIX strings. An empty ``root`` means the current directory.

    Args:
        path (str): The joined image path.
        root (str): The folder it must stay in.
        local (bool): Whether the paths are local files.

    Returns:
        bool: True when ``path`` is ``root`` or below it.
    """
    if local:
        path, root = osp.abspath(path), osp.abspath(root or '.')
        try:
            return osp.commonpath([root, path]) == root
        except ValueError:  # different drives on Windows
            return False
    path, root = posixpath.normpath(path), posixpath.normpath(root or '.')
    if root == '.':
        return not (posixpath.isabs(path) or path == '..' or path.startswith('../'))
    return path == root or path.startswith(root.rstrip('/') + '/')


@DATASETS.register_module()
class COCOMultiLabel(MultiLabelDataset):
    """Multi-label classification on a COCO-format detection annotation file.

    Each image becomes one sample whose multi-hot target is the set of categories of its
    instance annotations. Works for COCO 2014 / 2017 ``instances_*.json`` and any file in the
    same format (e.g. Objects365). The file is read through mmengine's file backends
    (``backend_args``) and indexed with pycocotools.

    Class order (``class_order``):

    - ``'coco'``: ascending category id. For COCO the 80 categories, whose ids span 1..90,
      become the contiguous labels 0..79 (``person`` = 0, ..., ``toothbrush`` = 79).
    - ``'alphabetical'``: category names sorted with Python's ``sorted`` (``airplane`` = 0,
      ..., ``zebra`` = 79 for COCO), the order of ML-GCN, MulCon and arXiv 2506.23156.
    - ``metainfo=dict(classes=[...])`` overrides both; it must list exactly the category
      names of the file, in any order, else a ``ValueError`` names the unknown and missing
      names.

    Drop policy: images without any annotation (or, with ``skip_crowd=True``, with only crowd
    annotations) are dropped unless ``keep_empty=True``, in which case they are all-negative
    samples. Dropping is how the multi-label literature gets 82,081 of the 82,783 COCO-2014
    train images (and 40,137 of the 40,504 val images).

    Samples are ordered by ascending COCO image id.

    Validation carve-out (the papers select checkpoints on a validation split taken out of the
    training images, so the official val file can serve as the test split): ``subset='train'``
    / ``'val'`` keeps the two parts of a seeded random carve-out of ``val_fraction`` of the
    kept images, the same rows for the same ``val_seed`` (``round(val_fraction * N)`` images
    by ``numpy.random.default_rng(val_seed).permutation``, see
    :func:`mlcl_plugin.datasets.val_split_indices`, which ``MulanDataset`` and
    ``MultiLabelCsvDataset`` use too). The carve-out is taken after everything a subclass keeps
    or drops (e.g. the Objects365 subset) and before ``indices``; both parts stay in ascending
    image id order.

    Image paths: ``file_name`` is joined to the image folder and must stay inside
    ``data_root`` (the image folder when ``data_root`` is empty): an absolute ``file_name`` or
    one whose ``..`` climbs out raises a ``ValueError`` naming the file, the image id and the
    value, unless ``allow_outside_root=True``. Symbolic links are not resolved, so a linked
    data folder is fine. Two image entries for the same file are an error too.

    Directory layout (the usual COCO one)::

        data/coco
        ├── annotations
        │   ├── instances_train2014.json
        │   └── instances_val2014.json
        ├── train2014
        │   ├── COCO_train2014_000000000009.jpg
        │   └── ...
        └── val2014
            └── ...

    Examples:
        >>> from mmpretrain.registry import DATASETS
        >>> import mlcl_plugin  # registers the dataset
        >>> train_dataset = dict(
        ...     type='COCOMultiLabel',
        ...     data_root='data/coco',
        ...     ann_file='annotations/instances_train2014.json',
        ...     data_prefix='train2014',
        ...     class_order='alphabetical',
        ...     pipeline=[
        ...         dict(type='LoadImageFromFile'),
        ...         dict(type='RandomResizedCrop', scale=224),
        ...         dict(type='PackInputs'),
        ...     ])
        >>> dataset = DATASETS.build(train_dataset)
        >>> len(dataset), dataset.num_classes
        (82081, 80)
        >>> sorted(dataset.get_data_info(0))
        ['gt_label', 'height', 'img_id', 'img_path', 'sample_idx', 'width']
        >>> dataset.get_data_info(0)['img_path']
        'data/coco/train2014/COCO_train2014_000000000009.jpg'

    Each sample (``get_data_info``) has the keys ``img_path`` (image prefix joined with the
    image's ``file_name`` by the backend's ``join_path``), ``gt_label`` (sorted unique class
    indices), ``img_id`` (COCO image id), ``width`` and ``height`` (from the file, ``None``
    when absent) and ``sample_idx``.

    Args:
        ann_file (str): COCO-format annotation file, relative to ``data_root`` unless
            absolute.
        data_root (str): Root directory joined with ``ann_file`` and ``data_prefix``.
            Defaults to ''.
        data_prefix (str | dict): Image folder relative to ``data_root``, as a string or
            ``dict(img_path=...)``. Defaults to ''.
        class_order (str): ``'coco'`` or ``'alphabetical'``, see above. Defaults to
            ``'coco'``.
        keep_empty (bool): Keep images without annotation as all-negative samples.
            Defaults to False.
        skip_crowd (bool): Ignore ``iscrowd=1`` annotations. Defaults to False.
        allow_outside_root (bool): Accept ``file_name`` values that lead outside
            ``data_root`` (absolute paths, ``..``). Defaults to False.
        subset (str): ``'all'``, or ``'train'`` / ``'val'`` of the validation carve-out.
            Defaults to ``'all'``.
        val_fraction (float): Fraction of the kept images carved out as ``'val'``, in
            (0, 1) when ``subset`` is not ``'all'``. Defaults to 0.
        val_seed (int): Seed of the carve-out. Defaults to 0.
        pipeline (Sequence): Processing pipeline. Defaults to ().
        test_mode (bool): ``test_mode=True`` means in test phase. Defaults to False.
        metainfo (dict, optional): Meta information; ``classes`` fixes the class order.
            With ``lazy_init=True`` the file's classes are filled in by ``full_init()``.
            Defaults to None.
        lazy_init (bool): Do not load the annotation file at construction. Defaults to
            False.
        backend_args (dict, optional): Arguments to instantiate the file backend used for
            the annotation file and the image folder. Defaults to None.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``indices``, ``serialize_data``, ``classes``, ...). ``indices`` must hold
            distinct indices in range.

    After loading, ``cat_ids`` holds the COCO category id of each class and
    ``num_images_total`` / ``num_empty`` / ``num_dropped`` the image counts of the file.

    Raises:
        FileNotFoundError: If the annotation file or (local backend only) the image folder
            does not exist.
        ValueError: If the annotation file is not a valid COCO instances file, see
            :func:`parse_coco_multilabel`, or an image path leaves ``data_root``.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 class_order: str = 'coco',
                 keep_empty: bool = False,
                 skip_crowd: bool = False,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 metainfo: Optional[dict] = None,
                 lazy_init: bool = False,
                 backend_args: Optional[dict] = None,
                 allow_outside_root: bool = False,
                 subset: str = 'all',
                 val_fraction: float = 0.,
                 val_seed: int = 0,
                 **kwargs):
        if class_order not in CLASS_ORDERS:
            raise ValueError(f'class_order must be one of {CLASS_ORDERS}, got {class_order!r}')
        check_carve_out(subset, val_fraction, ann_file)
        self.subset = subset
        self.val_fraction = float(val_fraction)
        self.val_seed = int(val_seed)
        self.class_order = class_order
        self.keep_empty = keep_empty
        self.skip_crowd = skip_crowd
        self.allow_outside_root = allow_outside_root
        self.backend_args = backend_args
        # filled by load_data_list (so still None while lazily initialised)
        self.cat_ids: Optional[tuple] = None
        self.num_images_total: Optional[int] = None
        self.num_empty: Optional[int] = None
        self.num_dropped: Optional[int] = None
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=pipeline,
            test_mode=test_mode,
            metainfo=metainfo,
            lazy_init=lazy_init,
            **kwargs)

    def _load_coco_dict(self) -> dict:
        """Read ``ann_file``; a subclass may rewrite the dict before it is validated.

        Returns:
            dict: The parsed JSON content, see :func:`load_coco_json`.
        """
        return load_coco_json(self.ann_file, backend_args=self.backend_args)

    def load_data_list(self) -> List[dict]:
        """Parse the annotation file into samples.

        Also sets ``metainfo['classes']``, ``cat_ids`` (COCO category id of each class),
        ``num_images_total``, ``num_empty`` and ``num_dropped``.

        Returns:
            list[dict]: One dict per kept image, in ascending image id order.
        """
        img_prefix = self.img_prefix
        backend = get_file_backend(
            img_prefix or '.', enable_singleton=True, backend_args=self.backend_args)
        if isinstance(backend, LocalBackend) and img_prefix and not osp.isdir(img_prefix):
            raise FileNotFoundError(f'image directory not found: {img_prefix} '
                                    f'(data_root={self.data_root!r}, '
                                    f'data_prefix={self.data_prefix!r})')

        coco_dict = self._load_coco_dict()
        info = parse_coco_multilabel(
            coco_dict,
            class_order=self.class_order,
            classes=self._metainfo.get('classes'),
            keep_empty=self.keep_empty,
            skip_crowd=self.skip_crowd,
            ann_file=self.ann_file)
        self._metainfo['classes'] = info.classes
        self.cat_ids = info.cat_ids
        self.num_images_total = info.num_images
        self.num_empty = info.num_empty
        self.num_dropped = info.num_dropped
        if info.num_dropped:
            shown = ', '.join(info.dropped_file_names[:3])
            more = ', ...' if info.num_dropped > 3 else ''
            print_log(f'COCOMultiLabel: {self.ann_file}: dropped {info.num_dropped} of '
                      f'{info.num_images} images without annotations ({shown}{more}); '
                      'keep_empty=True keeps them as all-negative samples',
                      logger='current', level=logging.INFO)

        local = isinstance(backend, LocalBackend)
        root = self.data_root or img_prefix or ''
        # the common case (a relative name without "..") cannot leave the image folder, so
        # only the folder itself and the unusual names need the full check
        prefix_inside = not img_prefix or _inside(img_prefix, root, local)
        data_list = []
        for sample in info.samples:
            sample = dict(sample)
            file_name = sample.pop('file_name')
            img_path = backend.join_path(img_prefix, file_name) if img_prefix else file_name
            if not self.allow_outside_root and (
                    not prefix_inside or _may_escape(file_name)) and not _inside(
                        img_path, root, local):
                raise ValueError(
                    f'{self.ann_file}: image id={sample["img_id"]} has file_name '
                    f'{file_name!r}, which leads outside data_root {root or "."!r} (to '
                    f'{img_path!r}); pass allow_outside_root=True to allow such paths')
            data_list.append(dict(img_path=img_path, **sample))
        return data_list

    def filter_data(self) -> List[dict]:
        """The ``subset`` part of the validation carve-out (all samples for ``'all'``).

        Runs after ``load_data_list`` (so after a subclass's own selection) and before
        ``indices``.

        Returns:
            list[dict]: The kept samples, in ascending image id order.
        """
        return carve_out(self.data_list, self.subset, self.val_fraction, self.val_seed,
                         self.ann_file)

    def _get_unserialized_subset(self, indices) -> list:
        # mmengine would wrap a negative index and repeat a repeated one without a word
        check_subset_indices(indices, len(self.data_list), self.ann_file)
        return super()._get_unserialized_subset(indices)

    @property
    def num_classes(self) -> int:
        """Number of classes (loads the annotation file first if it is still lazy)."""
        if self.CLASSES is None:
            self.full_init()
        return len(self.CLASSES)

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        body = [
            f'Annotation file: \t{self.ann_file}',
            f'Prefix of images: \t{self.img_prefix}',
            f'Class order: \t{self.class_order}',
        ]
        if self.num_images_total is None:
            body.append('Images: \tnot loaded yet (lazy_init)')
        else:
            body.append(f'Images kept: \t{self.num_images_total - self.num_dropped}')
            body.append(f'Images dropped (no annotation): \t{self.num_dropped}')
            if self.keep_empty:
                body.append(f'Images kept as all-negative: \t{self.num_empty}')
        if self.subset != 'all':
            body.append(f'Subset: \t{self.subset} (val_fraction {self.val_fraction}, '
                        f'seed {self.val_seed})')
        return body
