# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Keep README.md and docs/**/*.md from drifting away from the code.

* every relative markdown link ``[..](path)`` (images included) points at an existing file;
* every ```` ```python ```` block runs, in a subprocess from the repository root
  (``OMP_NUM_THREADS=1``, 120 s each); a block that assigns ``_base_`` is a config fragment
  and is loaded with ``mmengine.Config.fromstring`` (which resolves ``_base_`` and
  ``{{_base_.x}}``) instead of plain ``python``. A block preceded by the line
  ``<!-- no-test -->`` is skipped (for blocks that need data or a GPU only);
* every ``configs/....py`` and ``tools/....py`` path mentioned exists (in the repository, or
  as a stock tool of mmpretrain under ``mmpretrain/.mim/``);
* every ``type='X'`` names a class registered in one of mmpretrain's registries after
  ``import mlcl_plugin`` or of mmengine (or a Lightly loss that ``LightlyLossHead`` wraps).

Each README / page item is its own test case (ids ``README.md:<line>``, ...), so a broken
item fails visibly under its own name.
"""
import glob
import os
import os.path as osp
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
NO_TEST = '<!-- no-test -->'
TIMEOUT = 120

MD_FILES = ['README.md'] + sorted(
    osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, 'docs', '**', '*.md'), recursive=True))

FENCE = re.compile(r'^(\s*)```(\w*)\s*$')
LINK = re.compile(r'\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
INLINE_CODE = re.compile(r'`[^`\n]*`')
PATH = re.compile(r'(?<![\w/.\-])((?:configs|tools)/[\w./*\-]+?\.py)(?![\w.])')
TYPE = re.compile(r"""type\s*=\s*(['"])([\w.:]+)\1""")


def _read(md):
    with open(osp.join(ROOT, md), encoding='utf-8') as f:
        return f.read().split('\n')


def _split(md):
    """``(prose lines, code blocks)`` of a markdown file.

    prose: ``[(lineno, text)]`` outside fenced blocks; blocks: ``[(lineno, lang, source,
    skipped)]`` with ``lineno`` the line of the opening fence (1-based).
    """
    lines = _read(md)
    prose, blocks = [], []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            prose.append((i + 1, lines[i]))
            i += 1
            continue
        start, lang, indent = i, m.group(2).lower(), len(m.group(1))
        body = []
        i += 1
        while i < len(lines) and not re.match(r'^\s*```\s*$', lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == '' else lines[i])
            i += 1
        i += 1  # closing fence
        prev = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), '')
        blocks.append((start + 1, lang, '\n'.join(body) + '\n', prev == NO_TEST))
    return prose, blocks


def _items(kind):
    """Test parameters of one kind, each with the id ``<file>:<line>``."""
    params = []
    for md in MD_FILES:
        prose, blocks = _split(md)
        if kind == 'python':
            for lineno, lang, src, skipped in blocks:
                if lang == 'python':
                    marks = [pytest.mark.skip(reason=NO_TEST)] if skipped else []
                    params.append(pytest.param(md, src, id=f'{md}:{lineno}', marks=marks))
            continue
        if kind == 'link':
            texts = [(n, INLINE_CODE.sub('', t)) for n, t in prose]
            for lineno, text in texts:
                for m in LINK.finditer(text):
                    params.append(pytest.param(md, m.group(1), id=f'{md}:{lineno}:{m.group(1)}'))
            continue
        # paths and types: prose and every code block (configs are quoted in code)
        texts = list(prose)
        for lineno, _, src, _ in blocks:
            texts += [(lineno + 1 + k, t) for k, t in enumerate(src.split('\n'))]
        regex, group = (PATH, 1) if kind == 'path' else (TYPE, 2)
        seen = set()
        for lineno, text in texts:
            for m in regex.finditer(text):
                if m.group(group) not in seen:
                    seen.add(m.group(group))
                    params.append(
                        pytest.param(md, m.group(group), id=f'{md}:{lineno}:{m.group(group)}'))
    return params


# ----------------------------------------------------------------------------- links
@pytest.mark.parametrize(('md', 'target'), _items('link'))
def test_relative_link_exists(md, target):
    if re.match(r'^[a-z][\w+.-]*:', target) or target.startswith('#'):
        return  # absolute URL (http:, mailto:, ...) or an anchor in the same page
    path = target.split('#', 1)[0].split('?', 1)[0]
    full = osp.normpath(osp.join(ROOT, osp.dirname(md), path))
    assert osp.exists(full), f'{md}: link target {target!r} does not exist ({full})'


# ----------------------------------------------------------------------------- paths
@pytest.mark.parametrize(('md', 'path'), _items('path'))
def test_mentioned_path_exists(md, path):
    import mmpretrain
    # a stock tool of mmpretrain (``mmpretrain/.mim/tools/...``) counts as existing
    roots = [ROOT, osp.join(osp.dirname(mmpretrain.__file__), '.mim')]
    if any(c in path for c in '*?['):
        assert any(glob.glob(osp.join(r, path)) for r in roots), f'{md}: {path!r} matches no file'
    else:
        assert any(osp.isfile(osp.join(r, path)) for r in roots), f'{md}: {path!r} does not exist'


# ----------------------------------------------------------------------------- types
@pytest.fixture(scope='module')
def registries():
    import mmengine.registry as mmengine_registry
    import mmpretrain.registry as mmpretrain_registry
    from mmengine.registry import Registry

    import mlcl_plugin  # noqa: F401  (registers the plugin's classes)
    from mlcl_plugin.models.heads.lightly_loss_head import SUPPORTED_LOSSES
    regs = [v for mod in (mmpretrain_registry, mmengine_registry)
            for v in vars(mod).values() if isinstance(v, Registry)]
    return regs, set(SUPPORTED_LOSSES)


@pytest.mark.parametrize(('md', 'name'), _items('type'))
def test_type_is_registered(md, name, registries):
    regs, lightly_losses = registries
    if name in lightly_losses:
        return  # a Lightly loss, built by LightlyLossHead
    for reg in regs:
        try:
            if reg.get(name) is not None:
                return
        except (KeyError, ImportError):
            continue
    pytest.fail(f'{md}: type={name!r} is not registered in any mmpretrain / mmengine registry '
                'after `import mlcl_plugin`')


# ----------------------------------------------------------------------------- code blocks
CONFIG_RUNNER = (
    'import sys\n'
    'from mmengine.config import Config\n'
    'cfg = Config.fromstring(sys.stdin.read(), ".py")\n'
    'assert cfg.to_dict() is not None\n')


def _is_config(src):
    return re.search(r'^_base_\s*=', src, re.M) is not None


def _run(src):
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    code = CONFIG_RUNNER if _is_config(src) else '-'
    args = [sys.executable, '-c', code] if code != '-' else [sys.executable, '-']
    try:
        proc = subprocess.run(args, input=src, cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, f'timed out after {TIMEOUT} s'
    return proc.returncode, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope='module')
def block_results():
    """Run every python block once, two at a time (each is mostly interpreter start-up)."""
    srcs = sorted({p.values[1] for p in _items('python') if not p.marks})
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(srcs, pool.map(_run, srcs)))


@pytest.mark.parametrize(('md', 'src'), _items('python'))
def test_python_block_runs(md, src, block_results):
    rc, out = block_results[src]
    assert rc == 0, f'{md}: python block failed (rc={rc}):\n{src}\n--- output ---\n{out}'
