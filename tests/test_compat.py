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
                          'numpy2_adjust_hue', 'numpy_in1d', 'transformers5_multimodal',
                          'subset_copy_memo', 'quiet_known_noise'}


def test_fixes_apply_only_where_needed():
    applied = mlcl_plugin.compat.apply_all()
    # the allowlisted loader replaces mmengine's on every torch: before 2.6 torch's default
    # weights_only=False would run code from a crafted file (issue 13, finding 1)
    assert applied['checkpoint_weights_only'] is True
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


def _fake_transformers(monkeypatch, with_names):
    """Install a fake ``transformers.modeling_utils`` with or without the names mmpretrain's
    BLIP models import (transformers 4 / 5)."""
    import sys
    import types

    pkg = types.ModuleType('transformers')
    mod = types.ModuleType('transformers.modeling_utils')
    mod.PreTrainedModel = type('PreTrainedModel', (), {})
    if with_names:
        mod.apply_chunking_to_forward = mod.find_pruneable_heads_and_indices = len
        mod.prune_linear_layer = len
    pkg.modeling_utils = mod
    monkeypatch.setitem(sys.modules, 'transformers', pkg)
    monkeypatch.setitem(sys.modules, 'transformers.modeling_utils', mod)


@pytest.mark.parametrize('with_names', [True, False])
def test_transformers5_multimodal_switch(monkeypatch, with_names):
    import sys

    from mmpretrain.utils import dependency

    _fake_transformers(monkeypatch, with_names)
    assert compat._multimodal_importable() is with_names
    monkeypatch.setattr(dependency, 'WITH_MULTIMODAL', True)
    # mmpretrain.models not imported yet (the situation at `import mlcl_plugin`)
    monkeypatch.delitem(sys.modules, 'mmpretrain.models')
    if with_names:
        assert compat._fix_transformers5_multimodal() is False
        assert dependency.WITH_MULTIMODAL is True
    else:
        with pytest.warns(UserWarning, match='multimodal models are disabled'):
            assert compat._fix_transformers5_multimodal() is True
        assert dependency.WITH_MULTIMODAL is False


def test_transformers5_switch_untouched_once_models_imported(monkeypatch):
    import mmpretrain.models  # noqa: F401
    from mmpretrain.utils import dependency
    _fake_transformers(monkeypatch, False)
    monkeypatch.setattr(dependency, 'WITH_MULTIMODAL', True)
    assert compat._fix_transformers5_multimodal() is False
    assert dependency.WITH_MULTIMODAL is True


_IMPORT_MODELS = ('import warnings; warnings.simplefilter("ignore"); {pre}'
                  'import mmpretrain.models; print("imported")')


def test_plugin_keeps_mmpretrain_models_importable_next_to_transformers5(tmp_path):
    """A process with a transformers 5 lookalike installed: mmpretrain alone fails to import
    its models, importing the plugin first fixes it."""
    import os
    import subprocess
    import sys

    pkg = tmp_path / 'transformers'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('__version__ = "5.0.0"\n')
    # what transformers 5 still has: PreTrainedModel, but not the helpers BLIP imports
    (pkg / 'modeling_utils.py').write_text('class PreTrainedModel:\n    pass\n')
    meta = tmp_path / 'transformers-5.0.0.dist-info'
    meta.mkdir()
    (meta / 'METADATA').write_text('Metadata-Version: 2.1\nName: transformers\nVersion: 5.0.0\n')
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), repo]))

    def run(pre):
        return subprocess.run([sys.executable, '-c', _IMPORT_MODELS.format(pre=pre)],
                              env=env, capture_output=True, text=True, timeout=300)

    stock = run('')
    # (with the real transformers 5.17 the error is `TypeError: NoneType takes no arguments`
    # in mmpretrain's BLIP; this lookalike fails earlier, in the same multimodal-only imports)
    assert stock.returncode != 0
    assert 'mmpretrain/models' in stock.stderr
    fixed = run('import mlcl_plugin; ')
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert 'imported' in fixed.stdout


def _fresh_python(code, **env):
    """Run ``code`` in a fresh interpreter (the fixes apply once per process)."""
    import os
    import subprocess
    import sys
    full_env = dict(os.environ, PYTHONWARNINGS='default', **env)
    full_env.pop(compat.DISABLE_ENV, None)
    full_env.update(env)
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          env=full_env, timeout=300)


NOISE = ('import mlcl_plugin, mmcv.cnn.bricks.transformer\n'
         'from mmengine.fileio import FileClient\n'
         'FileClient(backend="disk")\n'
         'print(mlcl_plugin.compat.apply_all())')


def test_known_noise_silenced_and_each_fix_can_be_switched_off():
    quiet = _fresh_python(NOISE)
    assert quiet.returncode == 0, quiet.stderr
    out = quiet.stdout + quiet.stderr
    assert 'MultiScaleDeformableAttention' not in out
    assert 'will be deprecated' not in out
    assert 'is the alias of' not in out
    # logged once: what was applied and how to opt out
    assert out.count('mlcl_plugin.compat: applied') == 1
    assert 'quiet_known_noise' in out
    assert 'MLCL_COMPAT_DISABLE=<name>' in out
    loud = _fresh_python(NOISE, MLCL_COMPAT_DISABLE='quiet_known_noise,numpy_in1d')
    assert loud.returncode == 0, loud.stderr
    out = loud.stdout + loud.stderr
    assert "'quiet_known_noise': False" in out
    assert "'numpy_in1d': False" in out
    assert 'disabled by MLCL_COMPAT_DISABLE: numpy_in1d, quiet_known_noise' in out
    assert '"FileClient" will be deprecated' in out
    assert 'MultiScaleDeformableAttention' in out


def test_unknown_fix_name_in_opt_out_is_named(monkeypatch):
    monkeypatch.setenv(compat.DISABLE_ENV, 'cpu_ddp,no_such_fix')
    with pytest.raises(ValueError, match='unknown fix.*no_such_fix'):
        compat.disabled_fixes()
    monkeypatch.setenv(compat.DISABLE_ENV, 'all')
    assert compat.disabled_fixes() == set(compat.apply_all())


def test_subset_copies_do_not_share_a_memo():
    """B8: mmengine's ``_copy_without_annotation(self, memo=dict())`` shares one deepcopy memo
    across calls; an entry left under the id of a freed dataset hands that dataset to whichever
    new object gets the id. The stale entry is planted here under the id of a live transform:
    mmengine's own function copies the transform as the stale object, the patched one does not.
    """
    from mmengine.dataset import BaseDataset

    class Tiny(BaseDataset):
        def load_data_list(self):
            return [dict(x=i) for i in range(4)]

    assert compat.apply_all()['subset_copy_memo'] is True
    patched = BaseDataset._copy_without_annotation
    original = patched.__wrapped__
    shared = original.__defaults__[0]
    assert isinstance(shared, dict)
    ds = Tiny(pipeline=[lambda d: d], serialize_data=False)
    transform = ds.pipeline.transforms[0]
    stale = object()
    shared[id(transform)] = stale  # what a freed object's id leaves behind
    try:
        sub = ds.get_subset([1, 2])
        assert sub.pipeline.transforms[0] is not stale
        assert callable(sub.pipeline.transforms[0])
        assert [sub.get_data_info(i)['x'] for i in range(len(sub))] == [1, 2]
        # mmengine's own function, with its shared default, returns the stale object
        assert original(ds).pipeline.transforms[0] is stale
    finally:
        shared.clear()
    assert len(shared) == 0
    # an explicit memo is still used
    memo = {}
    patched(ds, memo)
    assert id(ds) in memo
