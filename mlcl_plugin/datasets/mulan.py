# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Vector multi-label data sets (Mulan / MEKA ARFF, ``.npz`` and ``.hdf5`` files).

Readers (all return ``(X, Y, feature_names, label_names)`` with ``X`` float32 ``N x F`` and
``Y`` uint8 ``N x L`` in {0, 1}):

* :func:`load_arff` - dense and sparse ARFF; label columns from a count and position, from a
  MEKA header (``@relation 'yeast: -C -14'``) or from explicit names (see
  :func:`load_mulan_xml` for Mulan's XML label files).
* :func:`load_npz` - arrays ``X`` / ``Y`` (optional ``label_names`` / ``feature_names``).
* :func:`load_hdf5` - datasets ``feature`` / ``target`` (the MulSupCon release format).

:class:`MulanDataset` wraps them as an mmpretrain dataset whose samples carry the feature
vector in ``img`` so that the stock ``PackInputs`` + ``default_collate`` give a ``B x F`` float
tensor.
"""
import os.path as osp
import re
import xml.etree.ElementTree as ET
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS

FORMATS = ('arff', 'npz', 'hdf5')
_EXT_TO_FMT = {'.arff': 'arff', '.npz': 'npz', '.h5': 'hdf5', '.hdf5': 'hdf5'}
_NUMERIC_TYPES = ('numeric', 'real', 'integer')
_MEKA_C = re.compile(r'(?:^|\s)-C\s+(-?\d+)')

LoadResult = Tuple[np.ndarray, np.ndarray, Optional[List[str]], Optional[List[str]]]


# --------------------------------------------------------------------------------------------
# ARFF


def _split_quoted(text: str, path: str, lineno: int) -> Tuple[str, str]:
    """Split a leading (optionally quoted) token from ``text``; return ``(token, rest)``."""
    text = text.strip()
    if not text:
        raise ValueError(f'{path}:{lineno}: missing name')
    if text[0] in '\'"':
        quote = text[0]
        i, chars = 1, []
        while i < len(text):
            c = text[i]
            if c == '\\' and i + 1 < len(text):
                chars.append(text[i + 1])
                i += 2
                continue
            if c == quote:
                return ''.join(chars), text[i + 1:].strip()
            chars.append(c)
            i += 1
        raise ValueError(f'{path}:{lineno}: unterminated quote in {text!r}')
    parts = text.split(None, 1)
    return parts[0], (parts[1].strip() if len(parts) > 1 else '')


def _unquote(token: str) -> str:
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] and token[0] in '\'"':
        return token[1:-1]
    return token


def _split_values(line: str) -> List[str]:
    """Split a comma separated data row, honouring quotes only when there are any."""
    if "'" not in line and '"' not in line:
        return [v.strip() for v in line.split(',')]
    values, cur, quote = [], [], None
    for c in line:
        if quote:
            if c == quote:
                quote = None
            else:
                cur.append(c)
        elif c in '\'"':
            quote = c
        elif c == ',':
            values.append(''.join(cur).strip())
            cur = []
        else:
            cur.append(c)
    values.append(''.join(cur).strip())
    return values


class _Attr:
    __slots__ = ('name', 'kind', 'values', 'lineno')

    def __init__(self, name, kind, values, lineno):
        self.name = name
        self.kind = kind  # 'numeric' or 'nominal'
        self.values = values  # nominal: {value string: code}; numeric: None
        self.lineno = lineno


def _parse_attribute(rest: str, path: str, lineno: int) -> _Attr:
    name, type_text = _split_quoted(rest, path, lineno)
    if not type_text:
        raise ValueError(f'{path}:{lineno}: attribute {name!r} has no type')
    if type_text.startswith('{'):
        if not type_text.endswith('}'):
            raise ValueError(f'{path}:{lineno}: unterminated nominal type of {name!r}')
        labels = [_unquote(v) for v in _split_values(type_text[1:-1])]
        return _Attr(name, 'nominal', {v: i for i, v in enumerate(labels)}, lineno)
    kind = type_text.split()[0].lower()
    if kind in _NUMERIC_TYPES:
        return _Attr(name, 'numeric', None, lineno)
    raise ValueError(f'{path}:{lineno}: unsupported type {type_text!r} of attribute {name!r} '
                     f'(only numeric/real/integer and nominal attributes are supported)')


def _label_columns(attrs: List[_Attr], relation: str, path: str, num_labels: Optional[int],
                   label_location: Optional[str],
                   label_names: Optional[Sequence[str]]) -> List[int]:
    """Attribute indices of the label columns, in label order."""
    num_attrs = len(attrs)
    if label_location not in (None, 'first', 'last'):
        raise ValueError(f"label_location must be 'first', 'last' or None, got {label_location!r}")
    if label_names is not None:
        label_names = list(label_names)
        if num_labels is not None and num_labels != len(label_names):
            raise ValueError(f'{path}: label count mismatch: num_labels={num_labels} but '
                             f'{len(label_names)} label names were given')
        index = {}
        for i, a in enumerate(attrs):
            index.setdefault(a.name, i)
        unknown = [n for n in label_names if n not in index]
        if unknown:
            raise ValueError(f'{path}: unknown label names {unknown} (not attributes of the file)')
        if len(set(label_names)) != len(label_names):
            raise ValueError(f'{path}: duplicate label names in {label_names}')
        cols = [index[n] for n in label_names]
    else:
        meka = _MEKA_C.search(relation)
        meka_count = meka_loc = None
        if meka is not None:
            k = int(meka.group(1))
            meka_count, meka_loc = abs(k), ('last' if k < 0 else 'first')
        if num_labels is None and meka_count is None:
            raise ValueError(f'{path}: cannot determine the label columns: give num_labels '
                             '(and label_location), label names, or a MEKA header '
                             "such as @relation 'name: -C -14'")
        if num_labels is not None and meka_count is not None and num_labels != meka_count:
            raise ValueError(f'{path}: label count mismatch: num_labels={num_labels} but the '
                             f'MEKA header {relation!r} says {meka_count}')
        count = num_labels if num_labels is not None else meka_count
        if label_location is not None and meka_loc is not None and label_location != meka_loc:
            raise ValueError(f'{path}: label_location={label_location!r} contradicts the MEKA '
                             f'header {relation!r} (labels {meka_loc})')
        location = label_location or meka_loc or 'last'
        if not 0 < count < num_attrs:
            raise ValueError(f'{path}: label count mismatch: {count} labels for '
                             f'{num_attrs} attributes')
        cols = list(range(count)) if location == 'first' else list(
            range(num_attrs - count, num_attrs))
    for c in cols:
        a = attrs[c]
        if a.kind == 'nominal' and not set(a.values) <= {'0', '1'}:
            raise ValueError(f'{path}:{a.lineno}: label attribute {a.name!r} must be nominal '
                             f'{{0,1}}, got {{{",".join(a.values)}}}')
    return cols


def load_mulan_xml(path: str) -> List[str]:
    """Label names from a Mulan XML label file (``<label name="...">`` elements, in document
    order; nested hierarchies are flattened)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise ValueError(f'{path}: not a valid XML label file: {err}') from err
    names = []
    for el in root.iter():
        tag = el.tag.rsplit('}', 1)[-1] if isinstance(el.tag, str) else ''
        if tag == 'label':
            name = el.get('name')
            if name is None:
                raise ValueError(f'{path}: <label> element without a name attribute')
            names.append(name)
    if not names:
        raise ValueError(f'{path}: no <label name="..."> elements found')
    return names


def load_arff(path: str,
              num_labels: Optional[int] = None,
              label_location: Optional[str] = None,
              label_names: Optional[Sequence[str]] = None) -> LoadResult:
    """Read a dense or sparse multi-label ARFF file.

    Label columns are, in this order of precedence: the attributes named in ``label_names``
    (in that order), ``num_labels`` columns at ``label_location`` (``'first'`` / ``'last'``,
    default the MEKA header's or ``'last'``), or the MEKA header in the relation name
    (``-C -k``: last k attributes, ``-C k``: first k). Other columns are features, in file
    order; nominal features are encoded by the index of their value. Sparse rows
    (``{index value, ...}``) leave absent entries at 0 and are gathered as flat
    (row, col, value) arrays, never as a dense Python list per row.

    Returns:
        tuple: ``(X float32 N x F, Y uint8 N x L, feature_names, label_names)``.

    Raises:
        ValueError: Naming the file (and line) for malformed headers or rows, unknown label
            names, a label count mismatch or label values other than 0/1.
    """
    relation = ''
    attrs: List[_Attr] = []
    rows: List[int] = []
    cols: List[int] = []
    vals: List[float] = []
    n_rows = 0
    in_data = False
    num_attrs = 0
    label_cols: List[int] = []
    label_set: set = set()
    nominal: dict = {}
    with open(path, encoding='utf-8') as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith('%'):
                continue
            if not in_data:
                if line[0] != '@':
                    raise ValueError(f'{path}:{lineno}: unexpected line in header: {line[:60]!r}')
                parts = line.split(None, 1)
                key = parts[0].lower()
                rest = parts[1] if len(parts) > 1 else ''
                if key == '@relation':
                    relation = _unquote(rest)
                elif key == '@attribute':
                    attrs.append(_parse_attribute(rest, path, lineno))
                elif key == '@data':
                    if not attrs:
                        raise ValueError(f'{path}:{lineno}: @data before any @attribute')
                    in_data = True
                    num_attrs = len(attrs)
                    label_cols = _label_columns(attrs, relation, path, num_labels,
                                                label_location, label_names)
                    label_set = set(label_cols)
                    nominal = {i: a.values for i, a in enumerate(attrs) if a.kind == 'nominal'}
                else:
                    raise ValueError(f'{path}:{lineno}: unknown header keyword {parts[0]!r}')
                continue
            if line.startswith('{'):
                if not line.endswith('}'):
                    raise ValueError(f'{path}:{lineno}: malformed sparse row (no closing brace)')
                body = line[1:-1].strip()
                items = _split_values(body) if body else []
                pairs = []
                for item in items:
                    kv = item.split(None, 1)
                    if len(kv) != 2:
                        raise ValueError(f'{path}:{lineno}: malformed sparse entry {item!r}')
                    try:
                        c = int(kv[0])
                    except ValueError:
                        raise ValueError(f'{path}:{lineno}: malformed sparse index '
                                         f'{kv[0]!r}') from None
                    if not 0 <= c < num_attrs:
                        raise ValueError(f'{path}:{lineno}: sparse index {c} out of range '
                                         f'[0, {num_attrs})')
                    pairs.append((c, _unquote(kv[1])))
            else:
                values = _split_values(line)
                if len(values) != num_attrs:
                    raise ValueError(f'{path}:{lineno}: malformed row: {len(values)} values, '
                                     f'expected {num_attrs}')
                pairs = enumerate(values)
            for c, v in pairs:
                if c in nominal:
                    code = nominal[c].get(_unquote(v))
                    if code is None:
                        what = 'label' if c in label_set else 'nominal'
                        raise ValueError(f'{path}:{lineno}: invalid {what} value {v!r} for '
                                         f'attribute {attrs[c].name!r}')
                    x = float(code) if c not in label_set else float(_unquote(v))
                else:
                    try:
                        x = float(v)
                    except ValueError:
                        raise ValueError(f'{path}:{lineno}: non-numeric value {v!r} for '
                                         f'attribute {attrs[c].name!r} (missing values '
                                         '"?" are not supported)') from None
                    if c in label_set and x not in (0.0, 1.0):
                        raise ValueError(f'{path}:{lineno}: label value {v!r} of '
                                         f'{attrs[c].name!r} is not 0/1')
                if x != 0.0:
                    rows.append(n_rows)
                    cols.append(c)
                    vals.append(x)
            n_rows += 1
    if not in_data:
        raise ValueError(f'{path}: no @data section')
    feat_cols = [i for i in range(len(attrs)) if i not in label_set]
    full = np.zeros((n_rows, len(attrs)), dtype=np.float64)
    if vals:
        full[np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)] = np.asarray(
            vals, dtype=np.float64)
    X = np.ascontiguousarray(full[:, feat_cols], dtype=np.float32)
    Y = np.ascontiguousarray(full[:, label_cols]).astype(np.uint8)
    return X, Y, [attrs[i].name for i in feat_cols], [attrs[i].name for i in label_cols]


# --------------------------------------------------------------------------------------------
# npz / hdf5


def _check_arrays(X, Y, path: str) -> Tuple[np.ndarray, np.ndarray]:
    X, Y = np.asarray(X), np.asarray(Y)
    if X.ndim != 2 or Y.ndim != 2:
        raise ValueError(f'{path}: features and targets must be 2-D, got shapes '
                         f'{X.shape} and {Y.shape}')
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f'{path}: {X.shape[0]} feature rows but {Y.shape[0]} target rows')
    if Y.size and not np.isin(Y, (0, 1)).all():
        raise ValueError(f'{path}: target values must be 0/1')
    return X.astype(np.float32), Y.astype(np.uint8)


def _names(value) -> Optional[List[str]]:
    if value is None:
        return None
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(value).tolist()]


def load_npz(path: str) -> LoadResult:
    """Read ``X`` (N x F) and ``Y`` (N x L, 0/1) from an ``.npz`` file; optional string arrays
    ``feature_names`` / ``label_names`` are returned too (else ``None``)."""
    with np.load(path, allow_pickle=False) as d:
        missing = [k for k in ('X', 'Y') if k not in d.files]
        if missing:
            raise ValueError(f'{path}: missing arrays {missing} (found {d.files})')
        X, Y = _check_arrays(d['X'], d['Y'], path)
        feat = _names(d['feature_names']) if 'feature_names' in d.files else None
        labels = _names(d['label_names']) if 'label_names' in d.files else None
    return X, Y, feat, labels


def load_hdf5(path: str) -> LoadResult:
    """Read datasets ``feature`` (N x F) and ``target`` (N x L, 0/1) from an HDF5 file (the
    MulSupCon format); needs ``h5py``. Names are ``None`` unless the file has
    ``feature_names`` / ``label_names`` datasets."""
    try:
        import h5py
    except ImportError as err:
        raise ImportError('reading HDF5 files needs h5py: pip install h5py') from err
    with h5py.File(path, 'r') as f:
        missing = [k for k in ('feature', 'target') if k not in f]
        if missing:
            raise ValueError(f'{path}: missing datasets {missing} (found {list(f.keys())})')
        X, Y = _check_arrays(f['feature'][()], f['target'][()], path)
        feat = _names(f['feature_names'][()]) if 'feature_names' in f else None
        labels = _names(f['label_names'][()]) if 'label_names' in f else None
    return X, Y, feat, labels


def infer_format(path: str) -> str:
    """``'arff'``, ``'npz'`` or ``'hdf5'`` from the file extension."""
    ext = osp.splitext(path)[1].lower()
    if ext not in _EXT_TO_FMT:
        raise ValueError(f'cannot infer the format of {path} from its extension; give fmt '
                         f'(one of {FORMATS})')
    return _EXT_TO_FMT[ext]


def load_vectors(path: str,
                 fmt: Optional[str] = None,
                 num_labels: Optional[int] = None,
                 label_location: Optional[str] = None,
                 label_names: Optional[Sequence[str]] = None) -> LoadResult:
    """Dispatch to :func:`load_arff`, :func:`load_npz` or :func:`load_hdf5`."""
    fmt = fmt or infer_format(path)
    if fmt == 'arff':
        return load_arff(path, num_labels, label_location, label_names)
    if fmt not in ('npz', 'hdf5'):
        raise ValueError(f'fmt must be one of {FORMATS}, got {fmt!r}')
    X, Y, feat, labels = load_npz(path) if fmt == 'npz' else load_hdf5(path)
    if num_labels is not None and num_labels != Y.shape[1]:
        raise ValueError(f'{path}: label count mismatch: num_labels={num_labels} but the file '
                         f'has {Y.shape[1]} label columns')
    if label_names is not None:
        label_names = list(label_names)
        if labels is None:
            if len(label_names) != Y.shape[1]:
                raise ValueError(f'{path}: label count mismatch: {len(label_names)} label '
                                 f'names for {Y.shape[1]} label columns')
            labels = label_names
        else:
            unknown = [n for n in label_names if n not in labels]
            if unknown:
                raise ValueError(f'{path}: unknown label names {unknown}')
            Y = np.ascontiguousarray(Y[:, [labels.index(n) for n in label_names]])
            labels = label_names
    return X, Y, feat, labels


def val_split_indices(num_rows: int, val_fraction: float,
                      val_seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Sorted ``(train_indices, val_indices)`` of a fixed-seed random carve-out of
    ``round(val_fraction * num_rows)`` rows (``numpy.random.default_rng(val_seed)``)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f'val_fraction must be in [0, 1), got {val_fraction}')
    num_val = int(round(val_fraction * num_rows))
    if val_fraction > 0 and not 0 < num_val < num_rows:
        raise ValueError(f'val_fraction={val_fraction} of {num_rows} rows leaves an empty split')
    perm = np.random.default_rng(val_seed).permutation(num_rows)
    return np.sort(perm[num_val:]), np.sort(perm[:num_val])


# --------------------------------------------------------------------------------------------
# Dataset


@DATASETS.register_module()
class MulanDataset(MultiLabelDataset):
    """Vector multi-label data set (Mulan/MEKA ARFF, ``.npz`` or MulSupCon ``.hdf5``).

    Each sample is ``dict(img=<float32 feature vector (F,)>, gt_label=<sorted label indices>,
    row_idx=<row in the file>)`` (``sample_idx`` is added by mmengine). The stock pipeline
    ``[dict(type='PackInputs')]`` turns ``img`` into a 1-D float tensor, so
    ``default_collate`` gives ``B x F`` inputs; multi-label ``gt_label`` goes to the
    ``DataSample``.

    Args:
        ann_file (str): The data file (joined with ``data_root`` when relative).
        data_root (str): Root of ``ann_file``, ``label_xml`` and ``scaler_file``.
        fmt (str, optional): ``'arff'``, ``'npz'`` or ``'hdf5'``; inferred from the
            extension (``.arff``, ``.npz``, ``.h5``, ``.hdf5``) when None.
        num_labels (int, optional): Number of label columns (ARFF; checked for npz/hdf5).
        label_location (str, optional): ``'first'`` or ``'last'`` (ARFF).
        label_xml (str, optional): Mulan XML label file; selects the label columns by name.
        standardize (bool): Standardise the features with the training statistics
            (population std, zero std replaced by 1). Defaults to True.
        scaler_file (str, optional): Fit the scaler on this file (the training file, for
            val/test sets), read with the same ``fmt`` inference and label settings. When None,
            fit on this file's rows outside the validation carve-out.
        scaler_val_fraction (float): Exclude a carve-out of this fraction (same ``val_seed``)
            of ``scaler_file`` from the fit, e.g. the test set of a data set whose validation
            split was carved from the train file. Defaults to 0.
        split (str): ``'all'``, ``'train'`` (rows outside the carve-out) or ``'val'`` (the
            carved rows). Defaults to ``'all'``.
        val_fraction (float): Fraction of this file's rows carved out for validation with
            ``numpy.random.default_rng(val_seed).permutation``. Defaults to 0.
        val_seed (int): Seed of the carve-out. Defaults to 0.
        pipeline, test_mode, metainfo, **kwargs: As in mmpretrain's ``BaseDataset``.
            ``metainfo['classes']`` is set to the label names (``label_<i>`` when the file
            has none) unless given.
    """

    SPLITS = ('all', 'train', 'val')

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 fmt: Optional[str] = None,
                 num_labels: Optional[int] = None,
                 label_location: Optional[str] = None,
                 label_xml: Optional[str] = None,
                 standardize: bool = True,
                 scaler_file: Optional[str] = None,
                 scaler_val_fraction: float = 0.0,
                 split: str = 'all',
                 val_fraction: float = 0.0,
                 val_seed: int = 0,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if split not in self.SPLITS:
            raise ValueError(f'split must be one of {self.SPLITS}, got {split!r}')
        if split == 'val' and val_fraction <= 0:
            raise ValueError("split='val' needs val_fraction > 0")
        if fmt is not None and fmt not in FORMATS:
            raise ValueError(f'fmt must be one of {FORMATS}, got {fmt!r}')
        self.fmt = fmt
        self.num_labels = num_labels
        self.label_location = label_location
        self.label_xml = self._join(data_root, label_xml)
        self.standardize = standardize
        self.scaler_file = self._join(data_root, scaler_file)
        self.scaler_val_fraction = scaler_val_fraction
        self.split = split
        self.val_fraction = val_fraction
        self.val_seed = val_seed
        # filled by load_data_list
        self.scaler_mean: Optional[np.ndarray] = None
        self.scaler_std: Optional[np.ndarray] = None
        self.num_features: Optional[int] = None
        self.num_rows_total: Optional[int] = None
        self.val_indices: Optional[np.ndarray] = None
        self.feature_names: Optional[List[str]] = None
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            pipeline=pipeline,
            test_mode=test_mode,
            metainfo=metainfo,
            **kwargs)

    @staticmethod
    def _join(root: str, path: Optional[str]) -> Optional[str]:
        if path is None or not root or osp.isabs(path):
            return path
        return osp.join(root, path)

    def _load(self, path: str) -> LoadResult:
        label_names = load_mulan_xml(self.label_xml) if self.label_xml else None
        return load_vectors(path, self.fmt or infer_format(path), self.num_labels,
                            self.label_location, label_names)

    def load_data_list(self) -> List[dict]:
        """Read the file, carve out the validation rows, fit and apply the scaler."""
        X, Y, feat_names, label_names = self._load(self.ann_file)
        n = X.shape[0]
        train_idx, val_idx = val_split_indices(n, self.val_fraction, self.val_seed)
        if self.standardize:
            if self.scaler_file is not None:
                X_fit = self._load(self.scaler_file)[0]
                if X_fit.shape[1] != X.shape[1]:
                    raise ValueError(f'scaler file {self.scaler_file} has {X_fit.shape[1]} '
                                     f'features, {self.ann_file} has {X.shape[1]}')
                fit_idx = val_split_indices(X_fit.shape[0], self.scaler_val_fraction,
                                            self.val_seed)[0]
                X_fit = X_fit[fit_idx]
            else:
                X_fit = X[train_idx]
            mean = X_fit.astype(np.float64).mean(axis=0)
            std = X_fit.astype(np.float64).std(axis=0)
            std[std == 0] = 1.0
            self.scaler_mean, self.scaler_std = mean, std
            X = ((X - mean) / std).astype(np.float32)
        keep = {'all': np.arange(n), 'train': train_idx, 'val': val_idx}[self.split]

        if label_names is None:
            label_names = [f'label_{i}' for i in range(Y.shape[1])]
        if 'classes' not in self._metainfo:
            self._metainfo['classes'] = tuple(label_names)
        elif len(self._metainfo['classes']) != Y.shape[1]:
            raise ValueError(f'{len(self._metainfo["classes"])} classes given but '
                             f'{self.ann_file} has {Y.shape[1]} labels')
        self.feature_names = feat_names
        self.num_features = X.shape[1]
        self.num_rows_total = n
        self.val_indices = val_idx

        return [
            dict(img=X[i], gt_label=np.flatnonzero(Y[i]).tolist(), row_idx=int(i))
            for i in keep
        ]

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        body = [f'Data file: \t{self.ann_file}',
                f'Format: \t{self.fmt or infer_format(self.ann_file)}']
        if self.num_features is not None:
            body.append(f'Features: \t{self.num_features}')
            body.append(f'Labels: \t{len(self.CLASSES)}')
        if not self.standardize:
            body.append('Standardisation: \tnone')
        elif self.scaler_file is not None:
            extra = (f' minus a {self.scaler_val_fraction} val carve-out (seed {self.val_seed})'
                     if self.scaler_val_fraction else '')
            body.append(f'Standardisation: \tfitted on {self.scaler_file}{extra}')
        else:
            body.append('Standardisation: \tfitted on the training rows of this file')
        split = f'Split: \t{self.split}'
        if self.val_fraction:
            num_val = len(self.val_indices) if self.val_indices is not None else '?'
            split += (f' (val_fraction={self.val_fraction}, val_seed={self.val_seed}, '
                      f'{num_val} val rows of {self.num_rows_total})')
        body.append(split)
        return body
