# Copyright (c) mlcl_plugin authors. All rights reserved.
"""mmengine scalar logs (``<work_dir>/<timestamp>/vis_data/scalars.json``) as arrays.

Each line of ``scalars.json`` is one JSON object. As in mmpretrain's ``load_json_log``
(``tools/analysis_tools/analyze_logs.py``), a record with ``lr`` is a training record
(``loss``, ``lr``, ``epoch``, ``iter``, ``step`` = iteration) and any other record a
validation record (the metrics, ``step`` = epoch of an epoch-based loop). A resumed run has
several timestamp folders: they are read in order and a later record replaces an earlier one
of the same step. A truncated last line (a run still writing) is skipped.
"""
import glob
import json
import os.path as osp
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

# bookkeeping keys of mmengine's records, never plotted as metrics
NON_METRIC_KEYS = frozenset(('step', 'epoch', 'iter', 'time', 'data_time', 'memory', 'lr'))


@dataclass
class RunLog:
    """The scalars of one run.

    Attributes:
        files (list[str]): the ``scalars.json`` files read, in order.
        train (dict[str, np.ndarray]): per key, ``T`` values (NaN where a record lacks it).
        val (dict[str, np.ndarray]): per key, ``V`` values.
        train_x (np.ndarray): ``T`` positions of the training records, in epochs (fractional)
            for an epoch-based run, else in iterations.
        val_x (np.ndarray): ``V`` positions of the validation records, same unit.
        unit (str): ``'epoch'`` or ``'iter'``.
    """

    files: List[str]
    train: Dict[str, np.ndarray] = field(default_factory=dict)
    val: Dict[str, np.ndarray] = field(default_factory=dict)
    train_x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    unit: str = 'iter'

    def val_metrics(self) -> List[str]:
        """Validation keys that are metrics (not time / step bookkeeping).

        Returns:
            list[str]: sorted keys.
        """
        return sorted(k for k in self.val if k not in NON_METRIC_KEYS)

    def loss_keys(self) -> List[str]:
        """Training keys that are losses (``loss`` first).

        Returns:
            list[str]: keys containing ``loss``.
        """
        keys = [k for k in self.train if 'loss' in k]
        return sorted(keys, key=lambda k: (k != 'loss', k))


def find_scalar_logs(path: str) -> List[str]:
    """The ``scalars.json`` files of a run.

    Args:
        path (str): a ``scalars.json`` file, a ``<timestamp>`` folder, or a work dir (every
            ``<work_dir>/<timestamp>/vis_data/scalars.json``, oldest first; the test runs'
            ``test_*/<timestamp>`` folders write none).

    Returns:
        list[str]: the files, sorted by timestamp folder name.

    Raises:
        FileNotFoundError: nothing found, naming the path.
    """
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'log path {path} does not exist')
    direct = osp.join(path, 'vis_data', 'scalars.json')
    if osp.isfile(direct):
        return [direct]
    files = sorted(glob.glob(osp.join(glob.escape(path), '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no <timestamp>/vis_data/scalars.json under {path} (is it a '
                                'work dir of tools/train.py with the default visualizer?)')
    return files


def _read_records(path: str) -> List[dict]:
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    records = []
    for i, line in enumerate(lines):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            if i == len(lines) - 1:
                warnings.warn(f'{path}: skipped the truncated last line', stacklevel=3)
                break
            raise ValueError(f'{path}, line {i + 1}: not JSON ({err})') from err
        if not isinstance(record, dict) or 'step' not in record:
            raise ValueError(f'{path}, line {i + 1}: not an mmengine scalar record (a JSON '
                             'object with "step")')
        records.append(record)
    return records


def _columns(records: List[dict]) -> Dict[str, np.ndarray]:
    keys = sorted({k for r in records for k, v in r.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)})
    return {k: np.array([r.get(k, np.nan) for r in records], dtype=np.float64) for k in keys}


def load_run_log(path: str) -> RunLog:
    """Read the scalar log(s) of a run.

    Args:
        path (str): see :func:`find_scalar_logs`.

    Returns:
        RunLog: the training and validation columns and their x positions.
    """
    files = find_scalar_logs(path)
    train: Dict[float, dict] = {}
    val: Dict[float, dict] = {}
    for file in files:  # later files (a resumed run) replace earlier records of a step
        for record in _read_records(file):
            (train if 'lr' in record else val)[record['step']] = record
    train_records = [train[s] for s in sorted(train)]
    val_records = [val[s] for s in sorted(val)]
    log = RunLog(files=files, train=_columns(train_records), val=_columns(val_records))
    steps = log.train.get('step', np.zeros(0))
    epochs = log.train.get('epoch')
    if epochs is not None and len(steps) and np.isfinite(epochs[-1]) and epochs[-1] > 0:
        # as mmpretrain's analyze_logs: iterations -> epochs by the last record's ratio
        log.unit = 'epoch'
        log.train_x = steps / (steps[-1] / epochs[-1])
    else:
        log.train_x = steps
    log.val_x = log.val.get('step', np.zeros(0))
    return log


def resolve_metric(log: RunLog, name: str) -> Optional[str]:
    """The validation key for ``name``: exact, else the one key ending with ``/name``.

    Args:
        log (RunLog): a run.
        name (str): e.g. ``'multi-label/mAP'`` or ``'mAP'``.

    Returns:
        str | None: the key, or None if the run has no such metric.
    """
    if name in log.val:
        return name
    matches = [k for k in log.val if k.endswith('/' + name)]
    return matches[0] if len(matches) == 1 else None
