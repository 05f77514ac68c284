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
