# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Vector multi-label data sets (Mulan / MEKA ARFF, ``.npz`` and ``.hdf5`` files).

Readers (all return ``(X, Y, feature_names, label_names)`` with ``X`` float32 ``N x F`` and
``Y`` uint8 ``N x L`` in {0, 1}):

* :func:`load_arff` - dense and sparse ARFF; label columns from a count and position, from a
  MEKA header (``@relation 'yeast: -C -14'``) or from explicit names (see
  :func:`load_mulan_xml` for Mulan's XML label files). Each file is parsed once per process
  (an in-memory cache keyed on the file's path, identity, size, mtime and CRC); a sparse file
  is held as its non-zero entries and made dense only for the caller.
* :func:`load_npz` - arrays ``X`` / ``Y`` (optional ``label_names`` / ``feature_names``).
* :func:`load_hdf5` - datasets ``feature`` / ``target`` (the MulSupCon release format).

:class:`MulanDataset` wraps them as an mmpretrain dataset whose samples carry the feature
vector in ``img`` so that the stock ``PackInputs`` + ``default_collate`` give a ``B x F`` float
tensor.

Bad input raises a ``ValueError`` naming the file and the line / row, column or key: a
non-finite feature value (NaN, +-inf, or a number that overflows float32) unless the dataset
opts into imputation (``nonfinite='impute_mean'``), bytes that are not valid in the file's
encoding, a truncated or corrupt ``.npz`` / ``.hdf5`` file, a duplicate sparse index, a label
count that contradicts the attribute types, a file or split without rows.
"""
import logging
import os
import os.path as osp
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections import OrderedDict
from itertools import compress
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS

from .splits import val_split_indices

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


def _sparse_pairs(line: str, path: str, lineno: int, num_attrs: int) -> List[Tuple[int, str]]:
    """``(attribute index, value text)`` pairs of a sparse row ``{i v, j w, ...}``.

    Args:
        line (str): The stripped row.
        path (str): The file, for messages.
        lineno (int): The row's line, for messages.
        num_attrs (int): Number of attributes.

    Returns:
        list[tuple[int, str]]: The pairs, in the row's order.

    Raises:
        ValueError: Naming the file and line for a missing brace, a malformed entry, an index
            outside ``[0, num_attrs)`` or an index given twice (which would silently keep
            only one of the two values).
    """
    if not line.endswith('}'):
        raise ValueError(f'{path}:{lineno}: malformed sparse row (no closing brace)')
    body = line[1:-1].strip()
    items = _split_values(body) if body else []
    pairs = []
    last, ordered = -1, True
    for item in items:
        kv = item.split(None, 1)
        if len(kv) != 2:
            raise ValueError(f'{path}:{lineno}: malformed sparse entry {item!r}')
        try:
            c = int(kv[0])
        except ValueError:
            raise ValueError(f'{path}:{lineno}: malformed sparse index {kv[0]!r}') from None
        if not 0 <= c < num_attrs:
            raise ValueError(f'{path}:{lineno}: sparse index {c} out of range '
                             f'[0, {num_attrs})')
        pairs.append((c, _unquote(kv[1])))
        ordered = ordered and c > last
        last = c
    # ARFF writes sparse indices in increasing order, so only a row that is not needs the
    # (costlier) duplicate search
    if not ordered and len({c for c, _ in pairs}) != len(pairs):
        seen = set()
        for c, _ in pairs:
            if c in seen:
                raise ValueError(f'{path}:{lineno}: sparse index {c} given twice in one row')
            seen.add(c)
    return pairs


def _is_binary_nominal(attr: _Attr) -> bool:
    """Whether ``attr`` is declared as Mulan declares its labels: nominal ``{0,1}``."""
    return attr.kind == 'nominal' and bool(attr.values) and set(attr.values) <= {'0', '1'}


def _check_label_block(attrs: List[_Attr], count: int, location: str, path: str) -> None:
    """Reject a label count that contradicts the attribute types next to the label block.

    Mulan files declare labels as nominal ``{0,1}``. When the ``run`` attributes at the label
    end of the file are ``{0,1}`` and the attribute before them is not, the file itself marks
    ``run`` label columns, so a ``num_labels`` below ``run`` would silently turn labels into
    features, and one above it would turn a feature into a label. Files whose attributes are
    all ``{0,1}`` (bag-of-words sets) or whose labels are not nominal cannot be checked.

    Args:
        attrs (list[_Attr]): All attributes in file order.
        count (int): The label count to check.
        location (str): ``'first'`` or ``'last'``.
        path (str): The file, for the message.

    Raises:
        ValueError: Naming the file, the attribute (and its line) and the count the file
            suggests.
    """
    order = attrs if location == 'first' else attrs[::-1]
    run = 0
    while run < len(order) and _is_binary_nominal(order[run]):
        run += 1
    if run == len(order) or run == 0:
        return
    hint = ('give the right num_labels, or select the label columns by name (label_names, '
            'or label_xml for MulanDataset) if the attribute types mislead')
    if count < run:
        attr = order[count]
        raise ValueError(
            f'{path}:{attr.lineno}: num_labels={count} ({location}) makes attribute '
            f'{attr.name!r} a feature, but it is nominal {{0,1}} like the labels and the '
            f'{location} {run} attributes all are: the file has probably {run} labels; {hint}')
    if count > run:
        attr = order[run]
        raise ValueError(
            f'{path}:{attr.lineno}: num_labels={count} ({location}) makes the {attr.kind} '
            f'attribute {attr.name!r} a label, but the other label columns are nominal {{0,1}}'
            f': the file has probably {run} labels; {hint}')


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
        if meka_count is None:
            # a count typed by the user is the one source of the label block that the file
            # does not confirm: cross-check it against the attribute types
            _check_label_block(attrs, count, location, path)
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


def _decode_error(path: str, encoding: str) -> ValueError:
    """Locate the first byte of ``path`` that is not valid ``encoding``.

    Args:
        path (str): The file.
        encoding (str): The encoding it was read with.

    Returns:
        ValueError: The error to raise, naming the line, the byte and its offset.
    """
    offset = 0
    with open(path, 'rb') as f:
        for lineno, raw in enumerate(f, 1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as err:
                bad = raw[err.start:err.end]
                return ValueError(
                    f'{path}:{lineno}: byte {bad.hex()} at byte offset {offset + err.start} is '
                    f'not valid {encoding} ({err.reason}); if the file is Latin-1 (ISO-8859-1), '
                    "as older ARFF files often are, read it with encoding='latin-1' "
                    "(MulanDataset(arff_encoding='latin-1')) and check the names it decodes")
            offset += len(raw)
    return ValueError(f'{path}: not valid {encoding}')


def _nonfinite_error(path: str, values: np.ndarray, where) -> ValueError:
    """The error for the first non-finite entry of the 2-D feature array ``values``.

    Args:
        path (str): The file.
        values (np.ndarray): ``N x F`` float32 features as they will be used.
        where (callable): ``(row, col) -> str`` locating an entry in the file.

    Returns:
        ValueError: The error to raise.
    """
    bad = ~np.isfinite(values)
    row, col = (int(i[0]) for i in np.nonzero(bad))
    value = values[row, col]
    what = 'NaN' if np.isnan(value) else 'infinite (or beyond the float32 range)'
    return ValueError(
        f'{path}: {where(row, col)}: feature value is {what}; {int(bad.sum())} non-finite '
        'feature value(s) in the file. Fix the file, or let MulanDataset impute them with '
        "nonfinite='impute_mean' (the mean of the finite training values of the column)")


# Why not an ARFF library: scipy.io.arff reads no sparse rows. liac-arff reads them
# (return_type=COO) but gathers every entry of the file in Python lists, keeps the last value
# of an index given twice in a row without a word, accepts string attributes and missing
# values, and names neither the value nor the attribute in its errors; it converts value by
# value in Python, as the reference reader below does, so it would add a dependency without
# saving the checks or the time. What is kept here is the format work those libraries do not
# do the way Mulan data needs it.
#
# The data rows are read in two ways. The reference reader (:func:`_rows_checked`) handles
# every value on its own and raises the error naming the line, attribute and value. The fast
# readers cover the rows Mulan and MEKA write (unquoted values, sparse indices as plain
# numbers) with a few string and numpy calls per chunk of rows; a chunk they cannot read
# exactly as the reference reader would goes to the reference reader, so the results and the
# error messages are the reference reader's.

# rows are parsed in chunks of about this many characters, so that the Python strings of a
# chunk stay small whatever the file size
_CHUNK_CHARS = 1 << 21


class _DataSpec:
    """The attributes and label columns the data rows of one file are read against.

    Args:
        path (str): The file, for messages.
        attrs (list[_Attr]): All attributes in file order.
        label_cols (list[int]): Attribute indices of the labels, in label order.
    """

    def __init__(self, path: str, attrs: List[_Attr], label_cols: List[int]):
        num_attrs = len(attrs)
        self.path = path
        self.attrs = attrs
        self.num_attrs = num_attrs
        self.label_cols = label_cols
        self.label_set = set(label_cols)
        self.feat_cols = [i for i in range(num_attrs) if i not in self.label_set]
        self.nominal = {i: a.values for i, a in enumerate(attrs) if a.kind == 'nominal'}
        # Mulan's {0,1} attributes: the code of each value is also its number, so their values
        # convert like numeric ones once the text is checked
        self.binary = np.array([a.kind == 'nominal' and list(a.values) == ['0', '1']
                                for a in attrs], dtype=bool)
        is_nominal = np.array([a.kind == 'nominal' for a in attrs], dtype=bool)
        self.other_nominal = is_nominal & ~self.binary
        # the text each value of a nominal attribute is converted from: a label keeps its
        # 0/1 text, a nominal feature becomes the index of its value
        self.nominal_text = {
            c: {v: (v if c in self.label_set else str(code)) for v, code in m.items()}
            for c, m in self.nominal.items()}
        self.feat_pos = np.full(num_attrs, -1, dtype=np.int64)
        self.feat_pos[self.feat_cols] = np.arange(len(self.feat_cols))
        self.label_pos = np.full(num_attrs, -1, dtype=np.int64)
        self.label_pos[label_cols] = np.arange(len(label_cols))
        # sparse indices as the writers write them; any other spelling ('+1', '01') or an
        # index out of range goes to the reference reader
        self.index_of = {str(i): i for i in range(num_attrs)}


def _rows_checked(lines: List[str], linenos: List[int],
                  spec: _DataSpec) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference reader: the non-zero values of dense or sparse rows, checked one by one.

    Args:
        lines (list[str]): Stripped data rows.
        linenos (list[int]): Their lines, for messages.
        spec (_DataSpec): The attributes.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: ``(row in lines, attribute, value)`` of the
        non-zero values.

    Raises:
        ValueError: Naming the file and line for a malformed row, a bad sparse index, a value
            that is not numeric or not one of its nominal values, or a label other than 0/1.
    """
    path, attrs, nominal, label_set = spec.path, spec.attrs, spec.nominal, spec.label_set
    rows: List[int] = []
    cols: List[int] = []
    vals: List[float] = []
    for r, (line, lineno) in enumerate(zip(lines, linenos)):
        if line.startswith('{'):
            pairs = _sparse_pairs(line, path, lineno, spec.num_attrs)
        else:
            values = _split_values(line)
            if len(values) != spec.num_attrs:
                raise ValueError(f'{path}:{lineno}: malformed row: {len(values)} '
                                 f'values, expected {spec.num_attrs}')
            pairs = enumerate(values)
        for c, v in pairs:
            if c in nominal:
                code = nominal[c].get(_unquote(v))
                if code is None:
                    what = 'label' if c in label_set else 'nominal'
                    raise ValueError(f'{path}:{lineno}: invalid {what} value {v!r} '
                                     f'for attribute {attrs[c].name!r}')
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
                rows.append(r)
                cols.append(c)
                vals.append(x)
    return (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64),
            np.asarray(vals, dtype=np.float64))


def _all_binary(values: np.ndarray) -> bool:
    """Whether every entry of ``values`` is 0 or 1 (NaN is not)."""
    return bool(((values == 0) | (values == 1)).all())


def _dense_rows_fast(lines: List[str], spec: _DataSpec) -> Optional[np.ndarray]:
    """Dense rows without quotes, read with one split and one float conversion per chunk.

    Args:
        lines (list[str]): Stripped dense rows.
        spec (_DataSpec): The attributes.

    Returns:
        np.ndarray | None: ``len(lines) x num_attrs`` float64 values (nominal features as
        value indices), or None when a row needs the reference reader (quotes, a wrong value
        count, a value it would reject).
    """
    num_attrs = spec.num_attrs
    if any(line.count(',') != num_attrs - 1 for line in lines):
        return None
    text = ','.join(lines)
    if "'" in text or '"' in text:
        return None
    toks = text.split(',')
    for c, conv in spec.nominal_text.items():
        texts = toks[c::num_attrs]
        try:
            # the reference reader strips each value before looking it up
            trans = {t: conv[t.strip()] for t in set(texts)}
        except KeyError:
            return None
        if any(t != v for t, v in trans.items()):
            toks[c::num_attrs] = list(map(trans.__getitem__, texts))
    try:
        full = np.fromiter(map(float, toks), dtype=np.float64, count=len(toks))
    except ValueError:
        return None
    full = full.reshape(len(lines), num_attrs)
    if spec.label_cols and not _all_binary(full[:, spec.label_cols]):
        return None
    return full


def _sparse_rows_fast(lines: List[str],
                      spec: _DataSpec) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Sparse rows without quotes, read with a few string and numpy calls per chunk.

    Args:
        lines (list[str]): Stripped sparse rows.
        spec (_DataSpec): The attributes.

    Returns:
        tuple | None: ``(row in lines, attribute, value)`` of the given entries, or None when
        a row needs the reference reader (quotes, a malformed entry, an index not written as
        a plain number in range or given twice, a value it would reject).
    """
    counts: List[int] = []
    bodies: List[str] = []
    for line in lines:
        if line[-1] != '}':
            return None
        body = line[1:-1]
        if body.strip():
            counts.append(body.count(',') + 1)
            bodies.append(body)
        else:
            counts.append(0)
    num = sum(counts)
    text = ','.join(bodies)
    if "'" in text or '"' in text:
        return None
    # with each comma a token of its own, the entries are well formed exactly when every
    # third token is a comma: each entry then splits into one index and one value, as the
    # reference reader splits it
    toks = text.replace(',', ' , ').split()
    if num and (len(toks) != 3 * num - 1 or toks[2::3].count(',') != num - 1):
        return None
    try:
        cols = np.fromiter(map(spec.index_of.__getitem__, toks[0::3]), dtype=np.int64,
                           count=num)
    except KeyError:
        return None
    rows = np.repeat(np.arange(len(lines), dtype=np.int64), counts)
    same_row = rows[1:] == rows[:-1]
    if (same_row & (cols[1:] <= cols[:-1])).any():
        # a row out of index order: only then is the (sorting) duplicate search needed
        order = np.lexsort((cols, rows))
        r, c = rows[order], cols[order]
        if ((r[1:] == r[:-1]) & (c[1:] == c[:-1])).any():
            return None
    vtoks = toks[1::3]
    binary = spec.binary[cols]
    if binary.any() and not set(compress(vtoks, binary.tolist())) <= {'0', '1'}:
        return None
    for p in np.flatnonzero(spec.other_nominal[cols]).tolist():
        v = spec.nominal_text[int(cols[p])].get(vtoks[p])
        if v is None:
            return None
        vtoks[p] = v
    try:
        vals = np.fromiter(map(float, vtoks), dtype=np.float64, count=num)
    except ValueError:
        return None
    if not _all_binary(vals[spec.label_pos[cols] >= 0]):
        return None
    return rows, cols, vals


class _ArffTable:
    """The rows of one ARFF file, read for one label selection (what the cache keeps).

    A file of dense rows keeps ``X`` / ``Y`` as arrays. A file with sparse rows keeps only
    its non-zero entries, ``(rows, cols, values)`` of the features and ``(rows, cols)`` of
    the positive labels, so it costs its non-zeros while cached and is made dense only for
    the caller.
    """

    __slots__ = ('num_rows', 'X', 'Y', 'sparse', 'finite', 'row_lines', 'feat_cols',
                 'feat_names', 'label_names')

    def arrays(self) -> Tuple[np.ndarray, np.ndarray]:
        """Fresh ``X`` (float32 ``N x F``) and ``Y`` (uint8 ``N x L``) owned by the caller.

        Returns:
            tuple[np.ndarray, np.ndarray]: The features and labels.
        """
        if not self.sparse:
            return self.X.copy(), self.Y.copy()
        X = np.zeros((self.num_rows, len(self.feat_names)), dtype=np.float32)
        xr, xc, xv = self.X
        X[xr, xc] = xv
        Y = np.zeros((self.num_rows, len(self.label_names)), dtype=np.uint8)
        yr, yc = self.Y
        Y[yr, yc] = 1
        return X, Y

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays held."""
        arrays = [self.row_lines] + (list(self.X) + list(self.Y) if self.sparse else
                                     [self.X, self.Y])
        return sum(a.nbytes for a in arrays)


class _Rows:
    """Collects the chunks of rows of one file into an :class:`_ArffTable`."""

    def __init__(self, spec: _DataSpec):
        self.spec = spec
        self.parts: list = []  # ('dense', first row, X, Y) or ('sparse', xr, xc, xv, yr, yc)
        self.row_lines: List[np.ndarray] = []
        self.num_rows = 0

    def add(self, lines: List[str], linenos: List[int], sparse: bool) -> None:
        """Read a chunk of consecutive rows, all dense or all sparse.

        Args:
            lines (list[str]): Stripped rows.
            linenos (list[int]): Their lines.
            sparse (bool): Whether the rows are sparse.
        """
        spec = self.spec
        if sparse:
            entries = _sparse_rows_fast(lines, spec)
            if entries is None:
                entries = _rows_checked(lines, linenos, spec)
            self._add_entries(*entries)
        else:
            full = _dense_rows_fast(lines, spec)
            if full is None:
                rows, cols, vals = _rows_checked(lines, linenos, spec)
                full = np.zeros((len(lines), spec.num_attrs), dtype=np.float64)
                full[rows, cols] = vals
            with np.errstate(over='ignore'):  # a value beyond float32 becomes inf, reported
                X = full[:, spec.feat_cols].astype(np.float32)
            self.parts.append(('dense', self.num_rows, X,
                               full[:, spec.label_cols].astype(np.uint8)))
        self.row_lines.append(np.asarray(linenos, dtype=np.int64))
        self.num_rows += len(lines)

    def _add_entries(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        """Keep the non-zero ``(row in chunk, attribute, value)`` entries as X / Y entries."""
        spec = self.spec
        keep = vals != 0  # NaN is kept
        rows, cols, vals = rows[keep] + self.num_rows, cols[keep], vals[keep]
        pos = spec.feat_pos[cols]
        feat = pos >= 0
        with np.errstate(over='ignore'):  # a value beyond float32 becomes inf, reported
            xv = vals[feat].astype(np.float32)
        self.parts.append(('sparse', rows[feat].astype(np.int32), pos[feat].astype(np.int32),
                           xv, rows[~feat].astype(np.int32),
                           spec.label_pos[cols[~feat]].astype(np.int32)))

    def table(self) -> _ArffTable:
        """The collected rows.

        Returns:
            _ArffTable: Dense when every row was dense, else as non-zero entries.
        """
        spec = self.spec
        t = _ArffTable()
        t.num_rows = self.num_rows
        t.feat_cols = spec.feat_cols
        t.feat_names = [spec.attrs[i].name for i in spec.feat_cols]
        t.label_names = [spec.attrs[i].name for i in spec.label_cols]
        t.row_lines = (np.concatenate(self.row_lines) if self.row_lines else
                       np.zeros(0, dtype=np.int64))
        t.sparse = any(p[0] == 'sparse' for p in self.parts)
        if not t.sparse:
            F, L = len(spec.feat_cols), len(spec.label_cols)
            t.X = (np.concatenate([p[2] for p in self.parts]) if self.parts else
                   np.zeros((0, F), dtype=np.float32))
            t.Y = (np.concatenate([p[3] for p in self.parts]) if self.parts else
                   np.zeros((0, L), dtype=np.uint8))
            t.finite = bool(np.isfinite(t.X).all())
            return t
        entries = []
        for p in self.parts:
            if p[0] == 'dense':  # dense rows of a file that also has sparse ones
                _, start, X, Y = p
                xr, xc = np.nonzero(X)
                yr, yc = np.nonzero(Y)
                p = ('sparse', (xr + start).astype(np.int32), xc.astype(np.int32), X[xr, xc],
                     (yr + start).astype(np.int32), yc.astype(np.int32))
            entries.append(p[1:])
        t.X = tuple(np.concatenate([e[i] for e in entries]) for i in range(3))
        t.Y = tuple(np.concatenate([e[i] for e in entries]) for i in (3, 4))
        t.finite = bool(np.isfinite(t.X[2]).all())
        return t


def _parse_arff(path: str, encoding: str, num_labels: Optional[int],
                label_location: Optional[str],
                label_names: Optional[Sequence[str]]) -> _ArffTable:
    """Read the header and the rows of an ARFF file (uncached; see :func:`load_arff`).

    Args:
        path (str): The ARFF file.
        encoding (str): Its text encoding.
        num_labels (int, optional): Number of label columns.
        label_location (str, optional): ``'first'`` or ``'last'``.
        label_names (Sequence[str], optional): Label attributes by name.

    Returns:
        _ArffTable: The rows, split into features and labels.
    """
    relation = ''
    attrs: List[_Attr] = []
    rows: Optional[_Rows] = None
    text_encoding = 'utf-8-sig' if encoding.lower().replace('_', '-') in ('utf-8',
                                                                         'utf8') else encoding
    try:
        with open(path, encoding=text_encoding) as f:
            lines = enumerate(f, 1)
            for lineno, raw in lines:
                line = raw.strip()
                if not line or line.startswith('%'):
                    continue
                if line[0] != '@':
                    raise ValueError(f'{path}:{lineno}: unexpected line in header: '
                                     f'{line[:60]!r}')
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
                    label_cols = _label_columns(attrs, relation, path, num_labels,
                                                label_location, label_names)
                    rows = _Rows(_DataSpec(path, attrs, label_cols))
                    break
                else:
                    raise ValueError(f'{path}:{lineno}: unknown header keyword '
                                     f'{parts[0]!r}')
            if rows is None:
                raise ValueError(f'{path}: no @data section')
            chunk: List[str] = []
            chunk_lines: List[int] = []
            chunk_sparse = False
            size = 0
            for lineno, raw in lines:
                line = raw.strip()
                if not line or line.startswith('%'):
                    continue
                sparse = line.startswith('{')
                if chunk and (sparse != chunk_sparse or size >= _CHUNK_CHARS):
                    rows.add(chunk, chunk_lines, chunk_sparse)
                    chunk, chunk_lines, size = [], [], 0
                chunk_sparse = sparse
                chunk.append(line)
                chunk_lines.append(lineno)
                size += len(line)
            if chunk:
                rows.add(chunk, chunk_lines, chunk_sparse)
    except UnicodeDecodeError:
        raise _decode_error(path, encoding) from None
    return rows.table()


# A run reads the same ARFF file for its train, val and test sets and for the scaler of the
# test set: each (file, label selection) is parsed once per process and kept here, least
# recently used first. The key holds the file's identity, size and modification time, so an
# edited, touched or replaced file is parsed again, and a CRC of its bytes, because a file
# rewritten with the same size within one tick of the file system clock keeps its mtime
# (the CRC costs about a hundredth of the parse).
_ARFF_CACHE: 'OrderedDict[tuple, _ArffTable]' = OrderedDict()
#: Most parsed files kept (a run uses one or two ARFF files per data set).
ARFF_CACHE_MAX_FILES = 4
#: Most bytes of parsed arrays kept; a file above it is not cached.
ARFF_CACHE_MAX_BYTES = 1 << 30


def clear_arff_cache() -> None:
    """Forget the parsed ARFF files, so that the next :func:`load_arff` reads its file."""
    _ARFF_CACHE.clear()


def _arff_table(path: str, encoding: str, num_labels: Optional[int],
                label_location: Optional[str],
                label_names: Optional[Sequence[str]]) -> _ArffTable:
    """:func:`_parse_arff` of ``path``, from the cache when the file has not changed.

    Args:
        path (str): The ARFF file.
        encoding (str): Its text encoding.
        num_labels (int, optional): Number of label columns.
        label_location (str, optional): ``'first'`` or ``'last'``.
        label_names (Sequence[str], optional): Label attributes by name.

    Returns:
        _ArffTable: The parsed rows (shared: read them through ``arrays()``).
    """
    def state():
        st = os.stat(path)
        crc = 0
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                crc = zlib.crc32(block, crc)
        return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, crc

    before = state()
    key = (osp.realpath(path), before, encoding, num_labels, label_location,
           None if label_names is None else tuple(label_names))
    table = _ARFF_CACHE.get(key)
    if table is not None:
        _ARFF_CACHE.move_to_end(key)
        return table
    table = _parse_arff(path, encoding, num_labels, label_location, label_names)
    # a file written while it was read is not cached under its old state
    if state() == before and table.nbytes <= ARFF_CACHE_MAX_BYTES:
        _ARFF_CACHE[key] = table
        while (len(_ARFF_CACHE) > ARFF_CACHE_MAX_FILES
               or sum(t.nbytes for t in _ARFF_CACHE.values()) > ARFF_CACHE_MAX_BYTES):
            _ARFF_CACHE.popitem(last=False)
    return table


def load_arff(path: str,
              num_labels: Optional[int] = None,
              label_location: Optional[str] = None,
              label_names: Optional[Sequence[str]] = None,
              encoding: str = 'utf-8',
              allow_nonfinite: bool = False) -> LoadResult:
    """Read a dense or sparse multi-label ARFF file.

    Label columns are, in this order of precedence: the attributes named in ``label_names``
    (in that order), ``num_labels`` columns at ``label_location`` (``'first'`` / ``'last'``,
    default the MEKA header's or ``'last'``), or the MEKA header in the relation name
    (``-C -k``: last k attributes, ``-C k``: first k). A ``num_labels`` without a MEKA header
    is cross-checked against the attribute types (see :func:`_check_label_block`). Other
    columns are features, in file order; nominal features are encoded by the index of their
    value. Sparse rows (``{index value, ...}``) leave absent entries at 0 and are gathered as
    flat (row, col, value) arrays, never as a dense Python list per row; an index given twice
    in a row is an error.

    A file is parsed once per process for each label selection: later calls on the unchanged
    file (same path, size and modification time) get copies of the cached arrays (see
    :func:`clear_arff_cache`).

    Args:
        path (str): The ARFF file.
        num_labels (int, optional): Number of label columns.
        label_location (str, optional): ``'first'`` or ``'last'``.
        label_names (Sequence[str], optional): Label attributes by name.
        encoding (str): Text encoding; ``'utf-8'`` also accepts a byte-order mark. Bytes
            that are not valid in it raise (no silent fallback). Defaults to ``'utf-8'``.
        allow_nonfinite (bool): Return NaN / inf feature values instead of raising (for a
            caller that imputes them). Defaults to False.

    Returns:
        tuple: ``(X float32 N x F, Y uint8 N x L, feature_names, label_names)``.

    Raises:
        ValueError: Naming the file (and line) for malformed headers or rows, bytes not valid
            in ``encoding`` (with the byte offset), unknown label names, a label count
            mismatch, label values other than 0/1, a duplicate sparse index, or a non-finite
            feature value (with the attribute).
    """
    table = _arff_table(path, encoding, num_labels, label_location, label_names)
    X, Y = table.arrays()
    if not allow_nonfinite and not table.finite:
        raise _nonfinite_error(
            path, X, lambda r, c: (f'line {table.row_lines[r]} (data row {r}), attribute '
                                   f'{table.feat_names[c]!r} (column {table.feat_cols[c]})'))
    return X, Y, list(table.feat_names), list(table.label_names)


# --------------------------------------------------------------------------------------------
# npz / hdf5


# the errors numpy's zip reader, zlib and HDF5 raise for a truncated or corrupt file; none of
# them names the file
_READ_ERRORS = (OSError, EOFError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile,
                zlib.error)


def _read(path: str, what: str, read):
    """Call ``read()``; turn a reader error into a ``ValueError`` naming ``path`` and ``what``.

    Args:
        path (str): The file.
        what (str): What is read (``"array 'X'"``), for the message.
        read (callable): Does the read.

    Returns:
        The result of ``read()``.
    """
    try:
        return read()
    except FileNotFoundError:
        raise
    except _READ_ERRORS as err:
        raise ValueError(f'{path}: cannot read {what}: corrupt, truncated or not the expected '
                         f'format ({type(err).__name__}: {err})') from err


def _check_arrays(X, Y, path: str, feat_names: Optional[List[str]] = None,
                  allow_nonfinite: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Check shapes and values of features ``X`` and targets ``Y`` read from ``path``.

    Returns:
        tuple: ``(X float32, Y uint8)``.

    Raises:
        ValueError: Naming the file, and the row and column of the first target other than
            0/1 or (unless ``allow_nonfinite``) the first non-finite feature.
    """
    X, Y = np.asarray(X), np.asarray(Y)
    if X.ndim != 2 or Y.ndim != 2:
        raise ValueError(f'{path}: features and targets must be 2-D, got shapes '
                         f'{X.shape} and {Y.shape}')
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f'{path}: {X.shape[0]} feature rows but {Y.shape[0]} target rows')
    for name, arr in (('features', X), ('targets', Y)):
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise ValueError(f'{path}: {name} must be numeric, got dtype {arr.dtype}')
    if Y.size:
        bad = ~np.isin(Y, (0, 1))
        if bad.any():
            r, c = (int(i[0]) for i in np.nonzero(bad))
            raise ValueError(f'{path}: target values must be 0/1; row {r}, column {c} holds '
                             f'{Y[r, c]!r} ({int(bad.sum())} such values)')
    with np.errstate(over='ignore'):  # a value beyond float32 becomes inf, reported below
        X = X.astype(np.float32)
    if not allow_nonfinite and not np.isfinite(X).all():
        raise _nonfinite_error(
            path, X, lambda r, c: f'row {r}, column {c}' + (
                f' ({feat_names[c]!r})' if feat_names and len(feat_names) > c else ''))
    return X, Y.astype(np.uint8)


def _names(value) -> Optional[List[str]]:
    if value is None:
        return None
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(value).tolist()]


def load_npz(path: str, allow_nonfinite: bool = False) -> LoadResult:
    """Read ``X`` (N x F) and ``Y`` (N x L, 0/1) from an ``.npz`` file.

    Args:
        path (str): The file (read with ``allow_pickle=False``).
        allow_nonfinite (bool): Return NaN / inf features instead of raising. Defaults to
            False.

    Returns:
        tuple: ``(X float32, Y uint8, feature_names, label_names)``; the names come from
        optional string arrays ``feature_names`` / ``label_names`` (else ``None``).

    Raises:
        ValueError: Naming the file (and the array) when it is truncated or corrupt, misses
            ``X`` or ``Y``, or holds bad values (see :func:`_check_arrays`).
    """
    d = _read(path, 'the archive', lambda: np.load(path, allow_pickle=False))
    if not isinstance(d, np.lib.npyio.NpzFile):
        raise ValueError(f'{path}: not an .npz archive (a single {type(d).__name__}); save '
                         'X and Y with numpy.savez')
    with d:
        missing = [k for k in ('X', 'Y') if k not in d.files]
        if missing:
            raise ValueError(f'{path}: missing arrays {missing} (found {d.files})')
        arrays = {k: _read(path, f'array {k!r}', lambda k=k: d[k])
                  for k in ('X', 'Y', 'feature_names', 'label_names') if k in d.files}
    feat = _names(arrays.get('feature_names'))
    X, Y = _check_arrays(arrays['X'], arrays['Y'], path, feat, allow_nonfinite)
    return X, Y, feat, _names(arrays.get('label_names'))


def load_hdf5(path: str, allow_nonfinite: bool = False) -> LoadResult:
    """Read datasets ``feature`` (N x F) and ``target`` (N x L, 0/1) from an HDF5 file (the
    MulSupCon format); needs ``h5py``.

    Args:
        path (str): The file.
        allow_nonfinite (bool): Return NaN / inf features instead of raising. Defaults to
            False.

    Returns:
        tuple: ``(X float32, Y uint8, feature_names, label_names)``; the names are ``None``
        unless the file has ``feature_names`` / ``label_names`` datasets.

    Raises:
        ValueError: Naming the file (and the dataset) when it is truncated or corrupt,
            misses ``feature`` or ``target``, or holds bad values.
    """
    try:
        import h5py
    except ImportError as err:
        raise ImportError('reading HDF5 files needs h5py: pip install h5py') from err
    f = _read(path, 'the HDF5 file', lambda: h5py.File(path, 'r'))
    with f:
        missing = [k for k in ('feature', 'target') if k not in f]
        if missing:
            raise ValueError(f'{path}: missing datasets {missing} (found {list(f.keys())})')
        arrays = {k: _read(path, f'dataset {k!r}', lambda k=k: f[k][()])
                  for k in ('feature', 'target', 'feature_names', 'label_names') if k in f}
    feat = _names(arrays.get('feature_names'))
    X, Y = _check_arrays(arrays['feature'], arrays['target'], path, feat, allow_nonfinite)
    return X, Y, feat, _names(arrays.get('label_names'))


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
                 label_names: Optional[Sequence[str]] = None,
                 encoding: str = 'utf-8',
                 allow_nonfinite: bool = False) -> LoadResult:
    """Dispatch to :func:`load_arff`, :func:`load_npz` or :func:`load_hdf5`.

    Args:
        path (str): The file.
        fmt (str, optional): ``'arff'``, ``'npz'`` or ``'hdf5'``; from the extension when
            None.
        num_labels (int, optional): Label count (ARFF; checked for npz / hdf5).
        label_location (str, optional): ``'first'`` or ``'last'`` (ARFF).
        label_names (Sequence[str], optional): Select (and order) the labels by name.
        encoding (str): Text encoding of an ARFF file. Defaults to ``'utf-8'``.
        allow_nonfinite (bool): Return NaN / inf features instead of raising. Defaults to
            False.

    Returns:
        tuple: ``(X float32 N x F, Y uint8 N x L, feature_names, label_names)``.
    """
    fmt = fmt or infer_format(path)
    if fmt == 'arff':
        return load_arff(path, num_labels, label_location, label_names, encoding=encoding,
                         allow_nonfinite=allow_nonfinite)
    if fmt not in ('npz', 'hdf5'):
        raise ValueError(f'fmt must be one of {FORMATS}, got {fmt!r}')
    reader = load_npz if fmt == 'npz' else load_hdf5
    X, Y, feat, labels = reader(path, allow_nonfinite=allow_nonfinite)
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


# --------------------------------------------------------------------------------------------
# Dataset


def check_subset_indices(indices, num: int, source: str) -> None:
    """Check mmengine's ``indices`` option against a data list of ``num`` samples.

    mmengine keeps ``data_list[i]`` for each given ``i``, so a negative index silently wraps
    to the end, a repeated index silently duplicates a sample and an ``int`` larger than the
    list silently keeps fewer samples. Each is rejected here.

    Args:
        indices (int | Sequence[int]): The ``indices`` argument of the dataset.
        num (int): Number of samples before the subset is taken.
        source (str): The annotation file, for the message.

    Raises:
        ValueError: Naming ``source`` and the offending index.
    """
    if isinstance(indices, (int, np.integer)) and not isinstance(indices, bool):
        if abs(int(indices)) > num:
            raise ValueError(f'{source}: indices={int(indices)} asks for more samples than '
                             f'the {num} there are')
        return
    if not isinstance(indices, Sequence) or isinstance(indices, (str, bytes)):
        raise TypeError(f'{source}: indices must be an int or a sequence of ints, got '
                        f'{type(indices).__name__}')
    seen = set()
    for pos, idx in enumerate(indices):
        if (not isinstance(idx, (int, np.integer)) or isinstance(idx, bool)
                or not 0 <= idx < num):
            raise ValueError(f'{source}: indices[{pos}] = {idx!r} is not a sample index in '
                             f'[0, {num})')
        if idx in seen:
            raise ValueError(f'{source}: indices[{pos}] = {idx} repeats an earlier index '
                             '(each sample may be selected once)')
        seen.add(int(idx))


def _carve(num_rows: int, fraction: float, seed: int, path: str) -> Tuple[np.ndarray, ...]:
    """:func:`val_split_indices` of the ``num_rows`` rows of ``path``, naming it on error.

    Args:
        num_rows (int): Rows of the file.
        fraction (float): Carved-out fraction.
        seed (int): Carve-out seed.
        path (str): The file, for the message.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(train_indices, val_indices)``.
    """
    if num_rows == 0:
        raise ValueError(f'{path}: the file has no data rows')
    try:
        return val_split_indices(num_rows, fraction, seed)
    except ValueError as err:
        raise ValueError(f'{path}: {err}') from None


@DATASETS.register_module()
class MulanDataset(MultiLabelDataset):
    """Vector multi-label data set (Mulan/MEKA ARFF, ``.npz`` or MulSupCon ``.hdf5``).

    Each sample is ``dict(img=<float32 feature vector (F,)>, gt_label=<sorted label indices>,
    row_idx=<row in the file>)`` (``sample_idx`` is added by mmengine). The stock pipeline
    ``[dict(type='PackInputs')]`` turns ``img`` into a 1-D float tensor, so
    ``default_collate`` gives ``B x F`` inputs; multi-label ``gt_label`` goes to the
    ``DataSample``.

    Non-finite features: by default a NaN, +-inf or float32-overflowing feature value in the
    data file or in ``scaler_file`` raises a ``ValueError`` naming the file, the row (and for
    ARFF the line) and the column. ``nonfinite='impute_mean'`` instead replaces each such value
    by the mean of the finite values of its column over the rows the scaler is fitted on (the
    training rows: ``scaler_file`` minus its carve-out, else this file's rows outside the
    validation carve-out), before standardisation, so an imputed value standardises to 0. A
    column with no finite value in those rows still raises; the number of imputed values is
    logged and kept in ``num_imputed``.

    Args:
        ann_file (str): The data file (joined with ``data_root`` when relative); leave it
            out with ``split_files``.
        data_root (str): Root of ``ann_file``, ``label_xml`` and ``scaler_file``.
        fmt (str, optional): ``'arff'``, ``'npz'`` or ``'hdf5'``; inferred from the
            extension (``.arff``, ``.npz``, ``.h5``, ``.hdf5``) when None.
        num_labels (int, optional): Number of label columns (ARFF; checked for npz/hdf5).
            Without a MEKA header it is cross-checked against the attribute types.
        label_location (str, optional): ``'first'`` or ``'last'`` (ARFF).
        label_xml (str, optional): Mulan XML label file; selects the label columns by name.
        label_names (Sequence[str], optional): The label columns by name, as ``label_xml``
            (give one of the two).
        standardize (bool): Standardise the features with the training statistics
            (population std, zero std replaced by 1). Defaults to True.
        scaler_file (str, optional): Fit the scaler on this file (the training file, for
            val/test sets), read with the same ``fmt`` inference and label settings. When None,
            fit on this file's rows outside the validation carve-out.
        scaler_val_fraction (float): Exclude a carve-out of this fraction (same ``val_seed``)
            of ``scaler_file`` from the fit, e.g. the test set of a data set whose validation
            split was carved from the train file. Defaults to 0.
        split (str): ``'all'``, ``'train'`` (rows outside the carve-out) or ``'val'`` (the
            carved rows); with ``split_files`` also ``'test'``. Defaults to ``'all'``.
        split_files (dict, optional): The files of the data set's splits, ``train`` and
            ``test`` and optionally ``val`` (joined with ``data_root``), in place of
            ``ann_file`` / ``scaler_file`` / ``scaler_val_fraction``: ``split`` picks the file
            (``'train'`` / ``'val'`` / ``'test'``), the validation rows are ``val`` or, without
            it, the ``val_fraction`` carve-out of ``train``, and every split is standardised
            with the statistics of the training rows. The val and test datasets of a config
            then differ from the training one by ``split`` alone, so they cannot be given
            other statistics or another carve-out by mistake.
        num_features (int, optional): The expected feature count, checked against the file
            (e.g. the count the model's input layer is built for). Defaults to None.
        val_fraction (float): Fraction of this file's rows carved out for validation with
            ``numpy.random.default_rng(val_seed).permutation``. Defaults to 0.
        val_seed (int): Seed of the carve-out. Defaults to 0.
        nonfinite (str): ``'error'`` (default) or ``'impute_mean'``, see above.
        arff_encoding (str): Text encoding of ARFF files; bytes not valid in it raise an
            error naming the file, line and byte offset. Defaults to ``'utf-8'``.
        pipeline, test_mode, metainfo, **kwargs: As in mmpretrain's ``BaseDataset``.
            ``metainfo['classes']`` is set to the label names (``label_<i>`` when the file
            has none) unless given. ``indices`` must hold distinct indices in range.
    """

    SPLITS = ('all', 'train', 'val')
    FILE_SPLITS = ('train', 'val', 'test')
    NONFINITE = ('error', 'impute_mean')

    def __init__(self,
                 ann_file: str = '',
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
                 label_names: Optional[Sequence[str]] = None,
                 nonfinite: str = 'error',
                 arff_encoding: str = 'utf-8',
                 split_files: Optional[dict] = None,
                 num_features: Optional[int] = None,
                 **kwargs):
        if split_files is not None:
            ann_file, split, scaler_file, scaler_val_fraction = self._resolve_split_files(
                split_files, split, ann_file, scaler_file, scaler_val_fraction, val_fraction)
        elif not ann_file:
            raise ValueError('MulanDataset needs ann_file (the data file) or split_files')
        if split not in self.SPLITS:
            raise ValueError(f'split must be one of {self.SPLITS}, got {split!r}')
        if split == 'val' and val_fraction <= 0:
            raise ValueError("split='val' needs val_fraction > 0")
        if fmt is not None and fmt not in FORMATS:
            raise ValueError(f'fmt must be one of {FORMATS}, got {fmt!r}')
        if nonfinite not in self.NONFINITE:
            raise ValueError(f'nonfinite must be one of {self.NONFINITE}, got {nonfinite!r}')
        if label_names is not None and label_xml is not None:
            raise ValueError('give label_names or label_xml, not both')
        self.fmt = fmt
        self.num_labels = num_labels
        self.label_location = label_location
        self.label_xml = self._join(data_root, label_xml)
        self.label_names = None if label_names is None else list(label_names)
        self.standardize = standardize
        self.scaler_file = self._join(data_root, scaler_file)
        self.scaler_val_fraction = scaler_val_fraction
        self.split = split
        self.val_fraction = val_fraction
        self.val_seed = val_seed
        self.nonfinite = nonfinite
        self.arff_encoding = arff_encoding
        self.split_files = None if split_files is None else dict(split_files)
        self.expected_features = num_features
        # filled by load_data_list
        self.scaler_mean: Optional[np.ndarray] = None
        self.scaler_std: Optional[np.ndarray] = None
        self.num_features: Optional[int] = None
        self.num_rows_total: Optional[int] = None
        self.val_indices: Optional[np.ndarray] = None
        self.feature_names: Optional[List[str]] = None
        self.num_imputed: int = 0
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            pipeline=pipeline,
            test_mode=test_mode,
            metainfo=metainfo,
            **kwargs)

    @classmethod
    def _resolve_split_files(cls, files, split, ann_file, scaler_file, scaler_val_fraction,
                             val_fraction) -> Tuple[str, str, Optional[str], float]:
        """``(ann_file, split, scaler_file, scaler_val_fraction)`` of a ``split_files`` split.

        Args:
            files (dict): ``split_files``.
            split (str): ``'train'``, ``'val'`` or ``'test'``.
            ann_file, scaler_file, scaler_val_fraction: As given; they must be left out.
            val_fraction (float): The carve-out of the train file (without a val file).

        Returns:
            tuple: The per-file arguments that implement the split.

        Raises:
            ValueError: Naming what contradicts ``split_files``.
        """
        if not isinstance(files, dict) or not files:
            raise TypeError(f'split_files must be a dict of file names, got {files!r}')
        unknown = sorted(set(files) - set(cls.FILE_SPLITS))
        if unknown or 'train' not in files:
            raise ValueError(f'split_files needs a train file and may name {cls.FILE_SPLITS}; '
                             f'got keys {sorted(files)}')
        if split not in cls.FILE_SPLITS:
            raise ValueError(f'with split_files, split must be one of {cls.FILE_SPLITS}, '
                             f'got {split!r}')
        given = [name for name, value in (('ann_file', ann_file), ('scaler_file', scaler_file),
                                          ('scaler_val_fraction', scaler_val_fraction))
                 if value]
        if given:
            raise ValueError(f'give split_files or {", ".join(given)}, not both: split_files '
                             'sets the file and the standardisation of every split')
        has_val_file = 'val' in files
        if split not in files and not (split == 'val' and val_fraction):
            raise ValueError(f'split={split!r} but split_files {files} names no {split} file'
                             + (' (give val_fraction > 0 to carve the validation rows out of '
                                'the train file)' if split == 'val' else ''))
        if has_val_file and val_fraction:
            raise ValueError(f'split_files names a val file ({files["val"]}) and '
                             f'val_fraction={val_fraction} asks for a carve-out too: give one')
        carve = 0.0 if has_val_file else float(val_fraction)
        train = files['train']
        if split == 'train':
            # the rows outside the carve-out; the scaler is fitted on them
            return train, ('train' if carve else 'all'), None, 0.0
        if split == 'val' and not has_val_file:
            return train, 'val', None, 0.0
        return files[split], 'all', train, carve

    @staticmethod
    def _join(root: str, path: Optional[str]) -> Optional[str]:
        if path is None or not root or osp.isabs(path):
            return path
        return osp.join(root, path)

    def _load(self, path: str) -> LoadResult:
        label_names = self.label_names
        if label_names is None and self.label_xml:
            label_names = load_mulan_xml(self.label_xml)
        return load_vectors(path, self.fmt or infer_format(path), self.num_labels,
                            self.label_location, label_names, encoding=self.arff_encoding,
                            allow_nonfinite=self.nonfinite != 'error')

    def _fit_rows(self, X: np.ndarray, train_idx: np.ndarray) -> Tuple[np.ndarray, str]:
        """The rows the scaler (and the imputation) is fitted on, and their file.

        Args:
            X (np.ndarray): This file's features.
            train_idx (np.ndarray): This file's rows outside the carve-out.

        Returns:
            tuple[np.ndarray, str]: The fit rows and the file they come from.
        """
        if self.scaler_file is None:
            return X[train_idx], self.ann_file
        X_fit = self._load(self.scaler_file)[0]
        if X_fit.shape[1] != X.shape[1]:
            raise ValueError(f'scaler file {self.scaler_file} has {X_fit.shape[1]} '
                             f'features, {self.ann_file} has {X.shape[1]}')
        fit_idx = _carve(X_fit.shape[0], self.scaler_val_fraction, self.val_seed,
                         self.scaler_file)[0]
        return X_fit[fit_idx], self.scaler_file

    @staticmethod
    def _impute(X: np.ndarray, fill: np.ndarray) -> Tuple[np.ndarray, int]:
        """``X`` with its non-finite entries replaced by ``fill`` of their column.

        Args:
            X (np.ndarray): ``N x F`` features.
            fill (np.ndarray): ``(F,)`` value per column.

        Returns:
            tuple[np.ndarray, int]: The filled features and the number of filled entries.
        """
        bad = ~np.isfinite(X)
        count = int(bad.sum())
        if count:
            X = np.where(bad, fill.astype(np.float32)[None, :], X)
        return X, count

    def load_data_list(self) -> List[dict]:
        """Read the file, carve out the validation rows, fit and apply the scaler."""
        X, Y, feat_names, label_names = self._load(self.ann_file)
        if self.expected_features is not None and X.shape[1] != self.expected_features:
            raise ValueError(f'{self.ann_file}: {X.shape[1]} features, but num_features='
                             f'{self.expected_features} (the input size the config builds the '
                             'model for): correct num_features in the data-set config')
        n = X.shape[0]
        train_idx, val_idx = _carve(n, self.val_fraction, self.val_seed, self.ann_file)
        impute = self.nonfinite == 'impute_mean'
        if self.standardize or impute:
            X_fit, fit_source = self._fit_rows(X, train_idx)
            if impute:
                finite = np.isfinite(X_fit)
                counts = finite.sum(axis=0)
                if not counts.all():
                    col = int(np.flatnonzero(counts == 0)[0])
                    raise ValueError(f'{fit_source}: feature column {col} has no finite value '
                                     'in the rows the scaler is fitted on, so there is no mean '
                                     "to impute for nonfinite='impute_mean'")
                fill = np.where(finite, X_fit, 0).astype(np.float64).sum(axis=0) / counts
                X_fit = self._impute(X_fit, fill)[0]
                X, self.num_imputed = self._impute(X, fill)
                if self.num_imputed:
                    print_log(f'MulanDataset: {self.ann_file}: imputed {self.num_imputed} '
                              f'non-finite feature values with column means of {fit_source}',
                              logger='current', level=logging.WARNING)
            if self.standardize:
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

    def _get_unserialized_subset(self, indices) -> list:
        # mmengine would wrap a negative index and repeat a repeated one without a word
        check_subset_indices(indices, len(self.data_list), self.ann_file)
        return super()._get_unserialized_subset(indices)

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
        if self.nonfinite == 'impute_mean':
            body.append(f'Non-finite features: \timputed with training column means '
                        f'({self.num_imputed} values)')
        if self.split_files is not None:
            body.append(f'Split files: \t{self.split_files}')
        split = f'Split: \t{self.split}'
        if self.val_fraction:
            num_val = len(self.val_indices) if self.val_indices is not None else '?'
            split += (f' (val_fraction={self.val_fraction}, val_seed={self.val_seed}, '
                      f'{num_val} val rows of {self.num_rows_total})')
        body.append(split)
        return body
