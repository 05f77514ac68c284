# Copyright (c) mlcl_plugin authors. All rights reserved.
"""What every benchmark and reproduction script shares: run the stock tools, cache units, read
their logs, record provenance, rewrite generated README blocks.

The scripts under ``tools/`` orchestrate training the way a user would, through stock
``tools/train.py`` / ``tools/test.py`` in a subprocess (the configs are the interface); this
module is the one implementation of the plumbing around that, imported by each script::

    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/benchmarks
    import orchestration as orch

    seconds = orch.train('configs/....py', work_dir, ['train_cfg.max_epochs=1'],
                         log_path=osp.join(work_dir, 'train.log'))
    metrics = orch.last_metrics(work_dir)
"""
import datetime
import glob
import hashlib
import json
import os
import os.path as osp
import platform
import re
import subprocess
import sys
import tempfile
import time
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# --------------------------------------------------------------------------------------------
# where the data is


def default_data_root(*parts: str) -> str:
    """``$MLCL_SHARED_DATA`` (else ``shared/data`` beside the checkout, as the tests' conftest),
    joined with ``parts``."""
    root = os.environ.get('MLCL_SHARED_DATA',
                          osp.join(osp.dirname(REPO_ROOT), 'shared', 'data'))
    return osp.join(root, *parts)


def require_dir(path: str, what: str) -> str:
    """``path`` made absolute with a trailing '/'; a clear error when it is not a folder.

    Args:
        path: The folder a run reads.
        what: What should be in it, for the message (e.g. ``'peta/ (the PETA photos)'``).

    Raises:
        FileNotFoundError: Naming ``path`` and what it should hold.
    """
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path} not found: give --data-root, the folder that holds '
                                f'{what} (or set MLCL_SHARED_DATA)')
    return osp.abspath(path).rstrip('/') + '/'


def data_root_options(root: str, loaders: Iterable[str] = ('train_dataloader',
                                                          'val_dataloader',
                                                          'test_dataloader')) -> List[str]:
    """``--cfg-options`` that point the datasets of ``loaders`` at ``root``."""
    root = osp.abspath(root).rstrip('/') + '/'
    return [f'{loader}.dataset.data_root={root}' for loader in loaders]


# --------------------------------------------------------------------------------------------
# writing results


def atomic_write_text(path: str, text: str) -> None:
    """Write through a temporary file + fsync + rename: a killed run leaves no half file."""
    fd, tmp = tempfile.mkstemp(dir=osp.dirname(osp.abspath(path)), suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_json(path: str, obj) -> None:
    """:func:`atomic_write_text` of ``obj`` as indented JSON."""
    atomic_write_text(path, json.dumps(obj, indent=1))


def replace_marked_block(path: str, begin: str, end: str, lines: Sequence[str]) -> None:
    """Replace what lies between the ``begin`` and ``end`` markers of ``path`` (atomically).

    Raises:
        ValueError: If ``path`` lacks either marker.
    """
    with open(path) as f:
        text = f.read()
    if begin not in text or end not in text:
        raise ValueError(f'{path} has no {begin} ... {end} block to replace')
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    atomic_write_text(path, head + begin + '\n' + '\n'.join(lines) + '\n' + end + tail)


# --------------------------------------------------------------------------------------------
# provenance


def git_commit(mark_dirty: bool = False, outputs: Sequence[str] = (),
               repo: str = REPO_ROOT) -> str:
    """Short commit of a checkout, or ``'unknown'`` outside a git checkout.

    Args:
        mark_dirty: append ``+dirty`` when a tracked file differs from the commit.
        outputs: tracked files the caller itself writes (its ledger, its README block); their
            changes do not count as dirty, or every record after the first would say so.
        repo: the checkout (default: this repository).

    Returns:
        str: e.g. ``'a3b0fe3'`` or ``'a3b0fe3+dirty'``.
    """
    try:
        commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=repo,
                                capture_output=True, text=True, check=True).stdout.strip()
        if mark_dirty:
            changed = subprocess.run(['git', 'diff', '--name-only', '-z', 'HEAD'], cwd=repo,
                                     capture_output=True, text=True, check=True).stdout
            root = osp.realpath(repo)
            mine = {osp.relpath(osp.realpath(p), root) for p in outputs if p}
            if set(changed.split('\0')) - {''} - mine:
                commit += '+dirty'
        return commit
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def machine(threads: Optional[int] = None) -> str:
    """A one-line description of this machine (and the threads a run used)."""
    text = f'{platform.machine()}, {os.cpu_count()} CPUs'
    return text + (f', {threads} threads' if threads is not None
                   else f', Python {platform.python_version()}')


# --------------------------------------------------------------------------------------------
# running the stock tools


def run(cmd: Sequence[str], log_path: Optional[str] = None, env: Optional[dict] = None,
        echo: bool = True) -> float:
    """Run ``cmd`` from the repository root; returns its wall seconds.

    Args:
        cmd: The command.
        log_path: Append the command line and its output here (else they go to this
            process's stdout / stderr).
        env: Environment of the child (default: this process's).
        echo: Print the command line first.

    Raises:
        RuntimeError: If it exits non-zero, with the last 4,000 characters of its log.
    """
    cmd = [str(c) for c in cmd]
    if echo:
        print('$', ' '.join(cmd), flush=True)
    start = time.perf_counter()
    if log_path is None:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env)
        tail = ''
    else:
        with open(log_path, 'a') as log:
            log.write('$ ' + ' '.join(cmd) + '\n')
            log.flush()
            proc = subprocess.run(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  env=env)
        if proc.returncode != 0:
            with open(log_path) as log:
                tail = f', log {log_path}:\n' + log.read()[-4000:]
    if proc.returncode != 0:
        raise RuntimeError(f'command failed (exit {proc.returncode}): {" ".join(cmd)}{tail}')
    return time.perf_counter() - start


def run_tool(tool: str, args: Sequence[str], log_path: Optional[str] = None,
             env: Optional[dict] = None, echo: bool = True) -> float:
    """:func:`run` of ``python tools/<tool> args`` (e.g. ``tool='train.py'``)."""
    return run([sys.executable, osp.join(REPO_ROOT, 'tools', tool), *args], log_path, env, echo)


def train(config: str, work_dir: str, options: Sequence[str] = (),
          log_path: Optional[str] = None, env: Optional[dict] = None,
          resume: bool = True) -> float:
    """Stock ``tools/train.py`` of ``config`` into ``work_dir``; returns its wall seconds.

    Args:
        config: Config path (relative to the repository root or absolute).
        work_dir: mmengine's work dir.
        options: ``--cfg-options`` entries.
        log_path: See :func:`run`.
        env: See :func:`run`.
        resume: Resume an interrupted run of the same work dir (mmengine's
            ``last_checkpoint``) instead of starting over.
    """
    args = [config, '--work-dir', work_dir]
    if resume and osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        args.append('--resume')
    if options:
        args += ['--cfg-options', *options]
    return run_tool('train.py', args, log_path, env)


# --------------------------------------------------------------------------------------------
# reading what a run wrote


def scalars_files(work_dir: str) -> List[str]:
    """mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json`` of every run, oldest first."""
    return sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))


def read_scalars(work_dir: str, last_run_only: bool = False) -> List[dict]:
    """Every logged entry of the runs in ``work_dir`` (a resumed run spans several files).

    Raises:
        FileNotFoundError: If nothing was logged there.
    """
    files = scalars_files(work_dir)
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}: did it train?')
    entries = []
    for path in files[-1:] if last_run_only else files:
        with open(path) as f:
            entries += [json.loads(line) for line in f if line.strip()]
    return entries


def train_log_stats(work_dir: str) -> Tuple[Optional[float], Optional[float]]:
    """Mean step seconds and data-loader wait share of the training iterations logged.

    Returns:
        ``(step_seconds, wait_share)``, ``(None, None)`` when no timed step was logged.

    Raises:
        RuntimeError: If a logged training loss is not finite (mmengine goes on training
            through NaN; a NaN unit must not enter a table), naming the file and line.
    """
    times, waits = [], []
    for path in scalars_files(work_dir):
        with open(path) as f:
            for n, line in enumerate(f, start=1):
                entry = json.loads(line)
                if 'loss' not in entry:
                    continue
                loss = float(entry['loss'])
                if loss != loss or loss in (float('inf'), float('-inf')):
                    raise RuntimeError(f'{path} line {n}: non-finite training loss '
                                       f'{entry["loss"]} at iteration {entry.get("iter")}')
                if 'time' in entry and 'data_time' in entry:
                    times.append(entry['time'])
                    waits.append(entry['data_time'])
    if not times:
        return None, None
    # the first logged window holds the workers' start-up
    times, waits = (times[1:], waits[1:]) if len(times) > 2 else (times, waits)
    return sum(times) / len(times), sum(waits) / sum(times)


_LOG_TIME = re.compile(r'^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) ')


def logged_run_seconds(work_dir: str) -> float:
    """Wall seconds of every mmengine run in ``work_dir``, summed over the runs of a resumed
    unit (including the part of a killed run after its last checkpoint, which was spent).

    Each run is mmengine's ``<work_dir>/<%Y%m%d_%H%M%S>/<same>.log``: from the folder's
    timestamp (the runner's start) to the last timestamped line of its log.

    Raises:
        FileNotFoundError: If ``work_dir`` holds no such log.
    """
    total, found = 0.0, False
    for log in sorted(glob.glob(osp.join(work_dir, '*', '*.log'))):
        stamp = osp.basename(osp.dirname(log))
        if osp.basename(log) != f'{stamp}.log':
            continue
        try:
            start = datetime.datetime.strptime(stamp, '%Y%m%d_%H%M%S')
        except ValueError:
            continue
        end = start
        with open(log, errors='replace') as f:
            for line in f:
                m = _LOG_TIME.match(line)
                if m:
                    end = max(end, datetime.datetime.strptime(m.group(1), '%Y/%m/%d %H:%M:%S'))
        total += (end - start).total_seconds()
        found = True
    if not found:
        raise FileNotFoundError(f'no <timestamp>/<timestamp>.log of an mmengine run under '
                                f'{work_dir}')
    return total


def last_metrics(work_dir: str, prefix: str = 'multi-label/') -> Dict[str, float]:
    """The last logged evaluation (keys starting with ``prefix``, prefix removed).

    Raises:
        RuntimeError: If the run logged no such metric.
    """
    found = {}
    for entry in read_scalars(work_dir, last_run_only=True):
        if any(k.startswith(prefix) for k in entry):
            found = entry
    if not found:
        raise RuntimeError(f'{scalars_files(work_dir)[-1]} holds no {prefix}* metrics')
    return {k[len(prefix):]: v for k, v in found.items() if k.startswith(prefix)}


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint mmengine's ``last_checkpoint`` file names."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        path = f.read().strip()
    return path if osp.isabs(path) else osp.join(REPO_ROOT, path)


def best_checkpoint(work_dir: str, pattern: str = 'best_*.pth') -> str:
    """The newest ``pattern`` checkpoint of ``work_dir``, else the last one."""
    best = sorted(glob.glob(osp.join(work_dir, pattern)), key=osp.getmtime)
    return best[-1] if best else last_checkpoint(work_dir)


def mean_std(values: Sequence[Optional[float]]) -> str:
    """``'m +- s'`` (mean, sample std, one decimal) of the values that are not None; the value
    alone for one, ``'-'`` for none (a result table's cell over seeds)."""
    values = [float(v) for v in values if v is not None]
    if not values:
        return '-'
    if len(values) == 1:
        return f'{values[0]:.1f}'
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return f'{mean:.1f} +- {std:.1f}'


# --------------------------------------------------------------------------------------------
# cached units


def unit_key(config: str, options: Sequence[str] = (), upstream: Optional[str] = None,
             root: str = REPO_ROOT,
             machine_specific: Sequence[str] = ('data_root=', 'checkpoint=', 'load_from=')
             ) -> str:
    """What a cached unit was computed from: the resolved config, the options, the upstream.

    A SHA-1 over the config as mmengine resolves it (``Config.to_dict``, keys sorted), the
    ``--cfg-options`` except the machine-specific paths (data root, checkpoint paths) and the key
    of the unit this one starts from. A cached unit whose key differs from the current one is
    stale: its config, schedule or upstream changed since it ran.
    """
    from mmengine.config import Config

    resolved = Config.fromfile(osp.join(root, config)).to_dict()
    kept = sorted(o for o in options if not any(k in o for k in machine_specific))
    digest = hashlib.sha1(json.dumps(resolved, sort_keys=True, default=str).encode())
    digest.update('\n'.join(kept).encode())
    digest.update((upstream or '').encode())
    return digest.hexdigest()[:16]


def cached_record(work_dir: str, key: str, record: str = 'result.json') -> Optional[dict]:
    """The unit's saved record when its key matches ``key``; else None (run it again).

    A stale unit's folder is moved aside (``<work_dir>.stale-<time>``), never deleted.
    """
    done = osp.join(work_dir, record)
    if not osp.isfile(done):
        return None
    with open(done) as f:
        rec = json.load(f)
    if rec.get('unit_key') == key:
        return rec
    stale = f'{work_dir}.stale-{int(time.time())}'
    print(f'{work_dir}: cached result is stale (key {rec.get("unit_key")} != {key}: its '
          f'config, options or upstream changed); moved to {stale}, running again', flush=True)
    os.replace(work_dir, stale)
    return None
