# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Seeded validation carve-outs: the one implementation every data set uses (COCO / Objects365,
NUS-WIDE, MIRFLICKR, Mulan, the CSV data set) to take a validation part out of a training split
for checkpoint selection."""
from typing import List, Tuple

import numpy as np


def val_split_indices(num_rows: int, val_fraction: float,
                      val_seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Sorted ``(train_indices, val_indices)`` of a fixed-seed random carve-out.

    The first ``round(val_fraction * num_rows)`` positions of
    ``numpy.random.default_rng(val_seed).permutation(num_rows)`` are validation, the rest
    training: the same parts for the same seed on any machine.

    Args:
        num_rows (int): Number of samples of the split.
        val_fraction (float): Share carved out for validation, in [0, 1).
        val_seed (int): Seed of the permutation. Defaults to 0.

    Returns:
        tuple[np.ndarray, np.ndarray]: Sorted training and validation indices.

    Raises:
        ValueError: A fraction outside [0, 1), or one that leaves a part empty.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f'val_fraction must be in [0, 1), got {val_fraction}')
    num_val = int(round(val_fraction * num_rows))
    if val_fraction > 0 and not 0 < num_val < num_rows:
        raise ValueError(f'val_fraction={val_fraction} of {num_rows} rows leaves an empty split')
    perm = np.random.default_rng(val_seed).permutation(num_rows)
    return np.sort(perm[num_val:]), np.sort(perm[:num_val])


SUBSETS = ('all', 'train', 'val')


def check_carve_out(subset: str, val_fraction: float, source: str) -> None:
    """Check the ``subset`` / ``val_fraction`` options of a validation carve-out.

    Args:
        subset (str): ``'all'``, ``'train'`` or ``'val'``.
        val_fraction (float): Fraction carved out as ``'val'``.
        source (str): What the options belong to, for the message.

    Raises:
        ValueError: An unknown ``subset``, or a carve-out part without
            ``0 < val_fraction < 1``.
    """
    if subset not in SUBSETS:
        raise ValueError(f'{source}: subset must be one of {SUBSETS}, got {subset!r}')
    if subset != 'all' and not 0 < val_fraction < 1:
        raise ValueError(f'{source}: subset={subset!r} needs 0 < val_fraction < 1, got '
                         f'{val_fraction!r}')


def carve_out(data_list: List[dict], subset: str, val_fraction: float, val_seed: int,
              source: str) -> List[dict]:
    """The ``subset`` part of a seeded validation carve-out of ``data_list``.

    The parts are those of :func:`val_split_indices`, each in the order of ``data_list``.

    Args:
        data_list (list[dict]): The samples.
        subset (str): ``'all'`` (everything), ``'train'`` or ``'val'``.
        val_fraction (float): Fraction carved out as ``'val'``.
        val_seed (int): Seed of the carve-out.
        source (str): The file the samples come from, for the message.

    Returns:
        list[dict]: The kept samples.

    Raises:
        ValueError: Naming ``source`` when a part would be empty.
    """
    if subset == 'all':
        return data_list
    try:
        train_idx, val_idx = val_split_indices(len(data_list), val_fraction, val_seed)
    except ValueError as err:
        raise ValueError(f'{source}: {err}') from err
    keep = train_idx if subset == 'train' else val_idx
    return [data_list[i] for i in keep.tolist()]
