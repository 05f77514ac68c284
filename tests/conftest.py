# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Shared fixtures.

``shared_data`` points at the project's real data (``../shared/data`` beside the checkout, or
``$MLCL_SHARED_DATA``). Without it tests that need it skip on a user's machine but fail when
``CI=true``: CI always has the data, so a skip there would hide a broken test.
"""
import os
import os.path as osp

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _shared_data_root():
    env = os.environ.get('MLCL_SHARED_DATA')
    if env:
        return env
    return osp.join(osp.dirname(REPO_ROOT), 'shared', 'data')


def pytest_configure(config):
    """In the controlling process, before pytest-xdist starts its workers: import yapf once.

    The first ``import mmengine`` on a machine writes yapf's grammar pickle to the user cache;
    two workers collecting at once on a fresh CI machine could read it half-written
    (``EOFError: Ran out of input`` while collecting).
    """
    if not hasattr(config, 'workerinput'):
        import yapf  # noqa: F401


@pytest.fixture(scope='session', autouse=True)
def _warm_stock_tools():
    """The benchmark scripts under test start tools/train.py and tools/test.py from a warm
    interpreter (tests/warm_launcher.py): ``tools/benchmarks/orchestration.py``, the one module
    through which they run stock tools, sees :class:`SubprocessProxy` as its ``subprocess``."""
    import sys

    from tests import warm_launcher

    sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'benchmarks'))
    import orchestration

    original = orchestration.subprocess
    orchestration.subprocess = warm_launcher.SubprocessProxy()
    yield
    orchestration.subprocess = original


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    """Every test starts in mmpretrain's default scope, as a config run does.

    A runner built by an earlier test (mmengine's scope) would otherwise decide where a later
    test's ``TRANSFORMS.build`` / ``MODELS.build`` looks, so results would depend on the order
    in which pytest-xdist hands out the files.
    """
    from mmengine.registry import init_default_scope

    init_default_scope('mmpretrain')


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def shared_data():
    root = _shared_data_root()
    if not osp.isdir(root):
        message = (f'real data not found at {root} (set MLCL_SHARED_DATA or place the '
                   'shared/ folder beside the checkout)')
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail(message)
        pytest.skip(message)
    return root


@pytest.fixture(scope='session')
def coco128(shared_data):
    """The 128 real COCO train2017 photos with their official instance annotations."""
    root = osp.join(shared_data, 'coco128')
    ann = osp.join(root, 'annotations', 'instances_train2017.json')
    if not osp.isfile(ann):
        pytest.fail(f'{ann} is missing from the shared data')
    return root


# --------------------------------------------------------------------------------------------
# Tiny-run helpers: any shipped config rewritten to run one short epoch on CPU on small real or
# generated data, then run through the stock tools/train.py.




@pytest.fixture(scope='session')
def toy_root(tmp_path_factory):
    """A small generated ToyShapes set (16 train / 8 test images, 32 px)."""
    from mlcl_plugin.datasets import make_toy_shapes

    root = str(tmp_path_factory.mktemp('toy_shapes'))
    make_toy_shapes(root, num_train=16, num_test=8, size=32)
    return root


@pytest.fixture(scope='session')
def voc_root(tmp_path_factory):
    """A tiny VOC2007-format tree (8 images) readable by mmpretrain's ``VOC`` dataset."""
    import numpy as np
    from PIL import Image

    from tests.tiny_run import VOC_CLASSES

    root = tmp_path_factory.mktemp('VOC2007')
    for sub in ('Annotations', 'ImageSets/Main', 'JPEGImages'):
        (root / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f'{i:06d}' for i in range(8)]
    for i, name in enumerate(names):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(
            root / 'JPEGImages' / f'{name}.jpg')
        objects = ''.join(
            f'<object><name>{VOC_CLASSES[c]}</name><difficult>{int(c == i)}</difficult></object>'
            for c in sorted({i % 20, (3 * i + 1) % 20}))
        (root / 'Annotations' / f'{name}.xml').write_text(
            f'<annotation><filename>{name}.jpg</filename>{objects}</annotation>')
    for split in ('trainval', 'test'):
        (root / 'ImageSets' / 'Main' / f'{split}.txt').write_text('\n'.join(names) + '\n')
    return str(root)
