# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Readers for the plain-text label files of the NUS-WIDE and MIRFLICKR releases.

* :func:`read_binary_matrix` - a file of ``0`` / ``1`` values, ``num_cols`` per line (one per
  line for NUS-WIDE's ``Labels_<concept>_Train.txt``, 81 per line for an ``AllLabels81.txt``
  matrix). Parsed with numpy on the raw bytes, in chunks of a few MiB, so a 269,648 x 81
  matrix costs its ``uint8`` result plus one chunk of temporaries and no Python loop over the
  values.
* :func:`read_text_lines` - the stripped lines of a text file with their 1-based numbers.
* :func:`read_name_list` - one name per line (a concept / class list), duplicates rejected.

Every error names the file, the 1-based line (and column) and the offending value.
"""
import os.path as osp
from typing import Iterator, List, Tuple

import numpy as np

# ASCII whitespace: tab, line feed, vertical tab, form feed, carriage return, space
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[9, 10, 11, 12, 13, 32]] = True
_ZERO, _ONE = ord('0'), ord('1')
CHUNK_BYTES = 1 << 22  # 4 MiB of text per numpy pass


def read_bytes(path: str, what: str) -> bytes:
    """The content of a local file, or a ``FileNotFoundError`` naming ``what`` it is.

    Args:
        path (str): The file.
        what (str): What the file is, for the message (e.g. ``'label file of "dog"'``).

    Returns:
        bytes: The raw content.

    Raises:
        FileNotFoundError: If ``path`` is not a file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    with open(path, 'rb') as f:
        return f.read()


def read_text_lines(path: str, what: str) -> List[Tuple[int, str]]:
    """``(line number, stripped text)`` of every non-blank line of a UTF-8 text file.

    Args:
        path (str): The file.
        what (str): What the file is, for the messages.

    Returns:
        list[tuple[int, str]]: 1-based line numbers and the stripped lines, blank lines left
        out.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not valid UTF-8 (naming the line).
    """
    raw = read_bytes(path, what)
    try:
        text = raw.decode('utf-8-sig')
    except UnicodeDecodeError as err:
        line = raw.count(b'\n', 0, err.start) + 1
        raise ValueError(f'{path} line {line}: not valid UTF-8 ({err.reason})') from None
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)
            if line.strip()]


def read_name_list(path: str, what: str) -> List[str]:
    """Names listed one per line (blank lines skipped), in file order.

    Args:
        path (str): The file, e.g. NUS-WIDE's ``Concepts81.txt``.
        what (str): What a name is (``'concept'``), for the messages.

    Returns:
        list[str]: The names.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it names nothing or a name appears twice (naming both lines).
    """
    first = {}
    for n, name in read_text_lines(path, f'{what} list'):
        if name in first:
            raise ValueError(f'{path} line {n}: {what} {name!r} appears twice (first at '
                             f'line {first[name]})')
        first[name] = n
    if not first:
        raise ValueError(f'{path} names no {what}')
    return list(first)


def _chunks(raw: bytes, size: int) -> Iterator[Tuple[int, int]]:
    """``(start, end)`` byte ranges of about ``size`` bytes that end after a newline."""
    start, total = 0, len(raw)
    while start < total:
        end = min(total, start + size)
        if end < total:
            newline = raw.rfind(b'\n', start, end)
            if newline < 0:  # one line longer than a chunk: take it whole
                newline = raw.find(b'\n', end)
                newline = total - 1 if newline < 0 else newline
            end = newline + 1
        yield start, end
        start = end


def _bad_value(raw: bytes, start: int, end: int, line: int, line_no: int, num_cols: int,
               path: str) -> ValueError:
    """The error for the first value of a chunk's ``line`` that is not a single 0 / 1."""
    text = raw[start:end].split(b'\n')[line].decode('utf-8', errors='replace')
    for col, token in enumerate(text.split(), start=1):
        if token not in ('0', '1'):
            where = f', column {col}' if num_cols > 1 else ''
            return ValueError(f'{path} line {line_no}{where}: value {token!r} is not 0 or 1')
    return ValueError(f'{path} line {line_no}: a value is not 0 or 1')  # not reached


def read_binary_matrix(path: str, num_cols: int = 1, what: str = 'label file',
                       chunk_bytes: int = CHUNK_BYTES) -> np.ndarray:
    """A whitespace-separated 0 / 1 matrix with ``num_cols`` values on every line.

    Trailing blank lines are ignored; a blank line before the last value is an error, since
    the rows are matched to another file (an image list) line by line. ``\\r\\n`` line ends and
    trailing spaces are fine.

    Args:
        path (str): The file.
        num_cols (int): Values per line. Defaults to 1.
        what (str): What the file is, for the messages. Defaults to ``'label file'``.
        chunk_bytes (int): Bytes parsed per numpy pass (bounds the temporaries).
            Defaults to 4 MiB.

    Returns:
        np.ndarray: ``uint8`` array of shape ``(rows, num_cols)`` holding 0 and 1.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it holds no value, a line has a value that is not ``0`` / ``1`` or
            not ``num_cols`` values, or a blank line comes before the last value; the
            message names the file, the line (and column) and the value.
    """
    raw = read_bytes(path, what)
    blocks = []
    line_base = 0  # lines in the chunks before this one
    blank_at = None  # 1-based number of the first blank line seen so far
    for start, end in _chunks(raw, chunk_bytes):
        u8 = np.frombuffer(raw, dtype=np.uint8, count=end - start, offset=start)
        newline = u8 == 10
        # line index (within the chunk) of every byte; a newline belongs to the line it ends
        line_of = np.cumsum(newline, dtype=np.int64)
        line_of -= newline
        num_lines = int(line_of[-1]) + 1
        is_char = ~_WHITESPACE[u8]
        is_start = is_char.copy()
        is_start[1:] &= ~is_char[:-1]
        char_lines = line_of[is_char]
        tokens = np.bincount(line_of[is_start], minlength=num_lines)
        chars = np.bincount(char_lines, minlength=num_lines)
        del line_of, newline, is_start

        filled = tokens > 0
        if blank_at is not None and filled.any():
            raise ValueError(f'{path} line {blank_at}: blank line before the last value (the '
                             'lines must match the image list one to one)')
        blank = np.flatnonzero(~filled)
        count = num_lines
        if blank.size:
            count = int(blank[0])
            if filled[count:].any():
                raise ValueError(f'{path} line {line_base + count + 1}: blank line before '
                                 'the last value (the lines must match the image list one '
                                 'to one)')
            blank_at = line_base + count + 1
        wrong = np.flatnonzero(tokens[:count] != num_cols)
        long = np.flatnonzero(chars[:count] != tokens[:count])  # a value of several chars
        values = u8[is_char]
        bad = np.flatnonzero((values != _ZERO) & (values != _ONE))
        # report the first offending line, whatever is wrong with it
        first_wrong = int(wrong[0]) if wrong.size else num_lines
        first_bad = min(int(long[0]) if long.size else num_lines,
                        int(char_lines[bad[0]]) if bad.size else num_lines)
        if min(first_wrong, first_bad) < num_lines:
            if first_bad <= first_wrong:
                raise _bad_value(raw, start, end, first_bad, line_base + first_bad + 1,
                                 num_cols, path)
            raise ValueError(f'{path} line {line_base + first_wrong + 1}: '
                             f'{int(tokens[first_wrong])} values, expected {num_cols}')
        blocks.append((values - _ZERO).reshape(count, num_cols))
        line_base += num_lines
    if not blocks or not sum(len(b) for b in blocks):
        raise ValueError(f'{path} holds no value ({what})')
    return np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
