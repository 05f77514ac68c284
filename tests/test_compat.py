# Copyright (c) mlcl_plugin authors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import mlcl_plugin
from mlcl_plugin import compat


def test_apply_all_is_idempotent():
    import mmengine.dist.utils as dist_utils
    from mmengine.model import MMDistributedDataParallel

    first = compat.apply_all()
    init_dist = dist_utils._init_dist_pytorch
    ddp_init = MMDistributedDataParallel.__init__
    loader = CheckpointLoader._schemes['']
    assert compat.apply_all() == first
    # a second application must not wrap the wrappers again
    assert dist_utils._init_dist_pytorch is init_dist
    assert MMDistributedDataParallel.__init__ is ddp_init
    assert CheckpointLoader._schemes[''] is loader
    assert set(first) == {'checkpoint_weights_only', 'cpu_launcher', 'cpu_ddp',
                          'numpy2_adjust_hue', 'numpy_in1d'}


def test_fixes_apply_only_where_needed():
    applied = mlcl_plugin.compat.apply_all()
    torch_major_minor = tuple(int(p) for p in torch.__version__.split('+')[0].split('.')[:2])
    assert applied['checkpoint_weights_only'] == (torch_major_minor >= (2, 6))
    numpy2 = int(np.__version__.split('.')[0]) >= 2
    assert applied['numpy2_adjust_hue'] == numpy2


def test_mmengine_checkpoint_with_history_buffer_loads(tmp_path):
    """B1: mmengine pickles HistoryBuffer into checkpoints; torch>=2.6 refuses it by default."""
    path = tmp_path / 'ckpt.pth'
    buffer = HistoryBuffer()
    buffer.update(1.5)
    torch.save({'state_dict': {'w': torch.ones(2)}, 'message_hub': {'loss': buffer},
                'meta': {'np': np.float64(3.0)}}, path)
    if tuple(int(p) for p in torch.__version__.split('.')[:2]) >= (2, 6):
        with pytest.raises(Exception, match='Weights only load failed'):
            torch.load(path)  # the stock behaviour the fix works around
    ckpt = _load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))
    assert ckpt['message_hub']['loss'].current() == 1.5


def test_missing_checkpoint_names_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint(str(tmp_path / 'nope.pth'), map_location='cpu')


def test_in1d_shim_matches_isin():
    a = np.array([[1, 2], [3, 4]])
    b = [2, 4, 7]
    np.testing.assert_array_equal(compat.in1d(a, b), np.isin(a, b).ravel())
    np.testing.assert_array_equal(compat.in1d(a, b, invert=True), ~np.isin(a, b).ravel())


def test_adjust_hue_float_factor_matches_uint8_wraparound():
    """B2: passing the hue factor as float64 reproduces numpy-1 uint8 wrap-around."""
    import mmcv

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    for factor in (-0.1, -0.05, 0.05, 0.1):
        expected = mmcv.image.photometric.adjust_hue(img, factor)
        np.testing.assert_array_equal(
            mmcv.image.photometric.adjust_hue(img, np.float64(factor)), expected)


def test_cpu_ddp_arguments_drop_device_ids_and_syncbn():
    """B7/B8: CPU DDP gets no device_ids and SyncBN is reverted, with a warning."""
    module = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.SyncBatchNorm(2))
    with pytest.warns(UserWarning, match='SyncBatchNorm only works on GPUs'):
        new_module, kwargs = compat.cpu_ddp_arguments(
            module, dict(device_ids=[0], output_device=0, broadcast_buffers=False))
    assert kwargs == dict(device_ids=None, broadcast_buffers=False)
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in new_module.modules())
    assert isinstance(new_module[1], torch.nn.modules.batchnorm._BatchNorm)
