# Copyright (c) mlcl_plugin authors. All rights reserved.
"""The layout of ``configs/``, as mmpretrain's: one folder per algorithm with a README.md and a
metafile.yml (model-index format) listing every config of the folder, data-set bases under
``configs/_base_/datasets/``, the plugin imported once (by the runtime base) and no alias
configs (a file that only names another config as its ``_base_``) except the documented short
name ``configs/mulsupcon_r50_coco.py``.
"""
import ast
import glob
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config

from tests.tiny_run import REPO_ROOT

CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
RUNTIME = 'configs/_base_/default_runtime.py'
IMPORT_LINE = "custom_imports = dict(imports=['mlcl_plugin'], allow_failed_imports=False)"
CUSTOM_IMPORTS = dict(imports=['mlcl_plugin'], allow_failed_imports=False)
# the one alias kept: the developers' guide's `tools/dist_train.sh configs/mulsupcon_r50_coco.py 8`
ALLOWED_ALIASES = {'configs/mulsupcon_r50_coco.py'}

ALL_PY = sorted(
    osp.relpath(p, REPO_ROOT) for p in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'),
                                                  recursive=True))
CONFIGS = [p for p in ALL_PY if '/_base_/' not in p]
FOLDERS = sorted(
    osp.relpath(p, REPO_ROOT) for p in glob.glob(osp.join(CONFIG_ROOT, '*'))
    if osp.isdir(p) and osp.basename(p) not in ('_base_', '__pycache__'))


def _base_list(rel):
    """The ``_base_`` entries of a config file, read from its source (not resolved)."""
    tree = ast.parse(open(osp.join(REPO_ROOT, rel)).read(), filename=rel)
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == '_base_'):
            value = ast.literal_eval(node.value)
            return [value] if isinstance(value, str) else list(value)
    return []


def _base_chain(rel, seen=None):
    """Every file of the repository that ``rel`` inherits, directly or not (``pkg::`` bases of
    other packages are not followed)."""
    seen = set() if seen is None else seen
    for base in _base_list(rel):
        if '::' in base:
            continue
        path = osp.normpath(osp.join(osp.dirname(rel), base))
        assert osp.isfile(osp.join(REPO_ROOT, path)), f'{rel}: _base_ {base!r} does not exist'
        if path not in seen:
            seen.add(path)
            _base_chain(path, seen)
    return seen


def _statements(rel):
    tree = ast.parse(open(osp.join(REPO_ROOT, rel)).read(), filename=rel)
    return [n for n in tree.body
            if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]


def _is_alias(rel):
    """Only ``_base_ = <one repository config>`` and nothing else."""
    body = _statements(rel)
    bases = _base_list(rel)
    return (len(body) == 1 and len(bases) == 1 and '::' not in bases[0]
            and '/_base_/' not in osp.normpath(osp.join(osp.dirname(rel), bases[0])))


def _load_yaml(rel):
    with open(osp.join(REPO_ROOT, rel)) as f:
        return yaml.safe_load(f)


def _folder_of(rel):
    parts = rel.split('/')
    return '/'.join(parts[:2]) if len(parts) > 2 else None


def test_layout_found_the_folders():
    names = {osp.basename(f) for f in FOLDERS}
    assert {'mulsupcon', 'blockwise', 'mulcon', 'real_photos', 'toy_shapes'} <= names
    assert RUNTIME in ALL_PY


@pytest.mark.parametrize('rel', CONFIGS)
def test_config_resolves_custom_imports_to_the_plugin(rel):
    cfg = Config.fromfile(osp.join(REPO_ROOT, rel), import_custom_modules=False)
    assert cfg.get('custom_imports') == CUSTOM_IMPORTS, rel


def test_import_line_only_where_the_runtime_is_not_inherited():
    """The runtime base imports the plugin for every config built on it; only a config that
    does not inherit it (one that starts from a stock mmpretrain config) writes the line."""
    runtime_text = open(osp.join(REPO_ROOT, RUNTIME)).read()
    assert IMPORT_LINE in runtime_text
    redundant, missing = [], []
    for rel in ALL_PY:
        if rel == RUNTIME:
            continue
        has_line = IMPORT_LINE in open(osp.join(REPO_ROOT, rel)).read()
        inherits = RUNTIME in _base_chain(rel)
        if has_line and inherits:
            redundant.append(rel)
        if rel in CONFIGS and not inherits and not has_line:
            missing.append(rel)
    assert not redundant, 'custom_imports repeated although the runtime base has it:\n' + \
        '\n'.join(redundant)
    assert not missing, 'neither inherits the runtime nor imports the plugin:\n' + \
        '\n'.join(missing)


def test_stock_base_example_keeps_its_own_import_line():
    rel = 'configs/mulsupcon/mulsupcon_mocov2-base_resnet50_8xb32-coslr-200e_coco2017.py'
    assert any(b.startswith('mmpretrain::') for b in _base_list(rel))
    assert IMPORT_LINE in open(osp.join(REPO_ROOT, rel)).read()


@pytest.mark.parametrize('folder', FOLDERS)
def test_folder_has_readme_and_metafile(folder):
    for name in ('README.md', 'metafile.yml'):
        assert osp.isfile(osp.join(REPO_ROOT, folder, name)), f'{folder}/{name} is missing'


def _metafiles():
    return sorted(
        osp.relpath(p, REPO_ROOT)
        for p in glob.glob(osp.join(CONFIG_ROOT, '*', 'metafile.yml')))


@pytest.mark.parametrize('metafile', _metafiles())
def test_metafile_entries(metafile):
    """mmpretrain's model-index format; every Config exists and every config of the folder is
    listed exactly once."""
    meta = _load_yaml(metafile)
    folder = osp.dirname(metafile)
    collections = {c['Name']: c for c in meta['Collections']}
    for name, c in collections.items():
        for key in ('Metadata', 'Paper', 'README'):
            assert key in c, f'{metafile}: collection {name} has no {key}'
        assert osp.isfile(osp.join(REPO_ROOT, c['README'])), (metafile, c['README'])
    listed = []
    for m in meta['Models']:
        for key in ('Name', 'In Collection', 'Metadata', 'Config', 'Results'):
            assert key in m, f'{metafile}: model {m.get("Name")} has no {key!r}'
        assert m['In Collection'] in collections, (metafile, m['Name'])
        # numbers come only from generated result files; none is typed into a metafile
        assert m['Results'] is None, f'{metafile}: {m["Name"]} has hand-written Results'
        assert osp.isfile(osp.join(REPO_ROOT, m['Config'])), f'{metafile}: {m["Config"]}'
        assert _folder_of(m['Config']) == folder, (metafile, m['Config'])
        listed.append(m['Config'])
    assert len(listed) == len(set(listed)), f'{metafile}: a config is listed twice'
    in_folder = [c for c in CONFIGS if _folder_of(c) == folder]
    unlisted = sorted(set(in_folder) - set(listed))
    assert not unlisted, f'{metafile} does not list:\n' + '\n'.join(unlisted)


def test_model_names_unique_and_model_index_lists_every_metafile():
    names = [m['Name'] for mf in _metafiles() for m in _load_yaml(mf)['Models']]
    dup = sorted({n for n in names if names.count(n) > 1})
    assert not dup, f'model names used twice: {dup}'
    index = _load_yaml('model-index.yml')
    assert sorted(index['Import']) == _metafiles()


def test_no_alias_configs():
    aliases = [c for c in CONFIGS if _is_alias(c)]
    assert set(aliases) == ALLOWED_ALIASES, aliases
    readme = open(osp.join(CONFIG_ROOT, 'README.md')).read()
    for alias in ALLOWED_ALIASES:
        assert alias in readme, f'configs/README.md does not explain the alias {alias}'


def test_alias_detection_is_not_vacuous():
    # the ALL ablation inherits one config but changes the head: not an alias
    assert not _is_alias('configs/mulsupcon/mulsupcon-all_resnet50_8xb8-coslr-400e_coco2014.py')
    assert _is_alias('configs/mulsupcon_r50_coco.py')


def test_dataset_bases_live_in_the_shared_datasets_folder():
    """A data-set base (defines the train/val/test dataloaders and nothing of a model) is under
    configs/_base_/datasets/, never in an algorithm folder's _base_."""
    misplaced = []
    for rel in ALL_PY:
        if '/_base_/' not in rel or rel.startswith('configs/_base_/'):
            continue
        cfg = Config.fromfile(osp.join(REPO_ROOT, rel), import_custom_modules=False)
        if (cfg.get('train_dataloader') or cfg.get('val_dataloader')) and not cfg.get('model'):
            misplaced.append(rel)
        assert '/_base_/datasets/' not in rel, rel
    assert not misplaced, misplaced


README_FILES = sorted(
    osp.relpath(p, REPO_ROOT)
    for p in glob.glob(osp.join(CONFIG_ROOT, '**', 'README.md'), recursive=True))


@pytest.mark.parametrize('readme', README_FILES)
def test_config_readme_links_and_paths_exist(readme):
    """What tests/test_docs.py checks for README.md and docs/, for the config folders' pages:
    relative links resolve, every configs/... or tools/... .py path named exists (paths in a
    folder's own tables may be relative to the folder)."""
    from tests.test_docs import LINK

    text = open(osp.join(REPO_ROOT, readme)).read()
    folder = osp.dirname(readme)
    missing = []
    for m in LINK.finditer(text):
        target = m.group(1)
        if target.startswith(('http:', 'https:', '#', 'mailto:')):
            continue
        path = osp.normpath(osp.join(REPO_ROOT, folder, target.split('#', 1)[0]))
        if not osp.exists(path):
            missing.append(target)
    for m in PATH_PATTERN.finditer(text):
        # a pattern must name at least one file: every {a,b} alternative, every * a match
        for path in _expand_braces(m.group(1)):
            if not glob.glob(osp.join(REPO_ROOT, path)):
                missing.append(path)
    for pattern in set(_table_paths(text)):
        for name in _expand_braces(pattern):
            if not (osp.exists(osp.join(REPO_ROOT, folder, name))
                    or osp.exists(osp.join(REPO_ROOT, name))):
                missing.append(name)
    assert not missing, f'{readme} names files that do not exist: {missing}'


# tests/test_docs.py's PATH, also taking {a,b} alternatives (configs/x_{yeast,scene}.py)
PATH_PATTERN = re.compile(r'(?<![\w/.\-])((?:configs|tools)/[\w./*\-{},]+?\.py)(?![\w.])')


def _expand_braces(pattern):
    """``a_{x,y}.py`` -> ``['a_x.py', 'a_y.py']`` (nested and repeated braces too)."""
    m = re.search(r'\{([^{}]*)\}', pattern)
    if not m:
        return [pattern]
    return [p for alt in m.group(1).split(',')
            for p in _expand_braces(pattern[:m.start()] + alt + pattern[m.end():])]


def test_readme_path_patterns_are_expanded():
    assert _expand_braces('configs/a_{x,y}_{1,2}.py') == [
        'configs/a_x_1.py', 'configs/a_x_2.py', 'configs/a_y_1.py', 'configs/a_y_2.py']
    assert [m.group(1) for m in PATH_PATTERN.finditer('see `configs/a_{x,y}.py`, then')] == [
        'configs/a_{x,y}.py']
    # a brace alternative that names no file is caught like a plain missing path
    assert not glob.glob(osp.join(
        REPO_ROOT, _expand_braces('configs/mulsupcon/mulsupcon-{all,none}_*.py')[1]))


def _table_paths(text):
    """Config file names quoted in a table cell (`name.py`, `name_{a,b}.py`), without glob
    patterns."""
    return [m for m in re.findall(r'`([\w./\-{},]+\.py)`', text)
            if '*' not in m and not m.startswith(('configs/', 'tools/'))]
