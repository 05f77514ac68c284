# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Issue 13, finding 1: no code execution from checkpoints.

A ``.pth`` whose pickle carries a ``__reduce__`` payload (it writes a marker file) is refused
through each entry point (``load_from``, a backbone's ``Pretrained`` init, ``tools/train.py
--resume``, ``tools/test.py CONFIG CKPT``) with an error that names the file, the refused
global and the opt-in, and the marker is never written; with ``MLCL_TRUST_CHECKPOINTS=1`` the
same file loads (and its payload runs: that is what the opt-in trusts). The allowlist covers
numpy 1 and numpy 2 pickles, and allowlisted objects with unexpected state are refused.
"""
import os
import os.path as osp
import uuid
import zipfile

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

import mlcl_plugin  # noqa: F401  (applies the loader)
from mlcl_plugin import compat
from mlcl_plugin.compat import UnsafeCheckpointError
from tests.tiny_run import REPO_ROOT, make_tiny

MOCO = 'configs/toy_shapes/mulsupcon_resnet18-w16_1xb64-coslr-15e_toyshapes.py'
PROBE = 'configs/toy_shapes/resnet18-w16_linear-adam-10e_toyshapes.py'


class _WriteMarker:
    """Unpickling this runs ``exec`` of code that writes ``path``."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return exec, (f'open({self.path!r}, "w").write("payload ran")',)


class _System:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.system, (f'touch {self.path}',)


class _GetAttr:
    """A pickle that asks for ``getattr(owner, name)`` (allowlisted only for HistoryBuffer's
    four statistics methods)."""

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return getattr, (self.owner, self.name)


def _malicious(tmp_path, state_dict=None, payload=_WriteMarker):
    """A checkpoint like mmengine's whose ``meta`` carries the payload; returns (path, marker)."""
    marker = tmp_path / f'marker_{uuid.uuid4().hex[:6]}'
    hub = HistoryBuffer()
    hub.update(0.5)
    path = tmp_path / 'evil.pth'
    torch.save({'meta': {'epoch': 1, 'iter': 2, 'note': payload(marker)},
                'state_dict': state_dict or {'w': torch.ones(2)},
                'message_hub': {'log_scalars': {'train/loss': hub}}}, path)
    return str(path), marker


def _check_refusal(message, path, glob_name):
    assert 'Refused to load checkpoint' in message
    assert path in message
    assert glob_name in message
    assert 'MLCL_TRUST_CHECKPOINTS=1' in message


@pytest.mark.parametrize(('payload', 'refused'), [(_WriteMarker, '`builtins.exec`'),
                                                  (_System, f'`{os.system.__module__}.system`')])
def test_finding1_payload_refused_by_the_loader(tmp_path, payload, refused):
    path, marker = _malicious(tmp_path, payload=payload)
    with pytest.raises(UnsafeCheckpointError) as info:
        _load_checkpoint(path, map_location='cpu')
    _check_refusal(str(info.value), path, refused)
    assert not marker.exists()


def test_finding1_opt_in_loads_and_trusts(tmp_path, trusted):
    path, marker = _malicious(tmp_path)
    checkpoint = _load_checkpoint(path, map_location='cpu')
    assert checkpoint['meta']['note'] is None  # exec's return value: the payload did run
    assert marker.read_text() == 'payload ran'


def test_finding1_opt_in_is_one_exact_switch(tmp_path, monkeypatch):
    path, marker = _malicious(tmp_path)
    for value in ('0', '', 'no', 'false'):
        monkeypatch.setenv('MLCL_TRUST_CHECKPOINTS', value)
        with pytest.raises(UnsafeCheckpointError):
            _load_checkpoint(path, map_location='cpu')
    assert not marker.exists()


def _tiny_runner(tmp_path, **kwargs):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Tiny(BaseModel):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 2)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            return self.fc(inputs)

    return Runner(model=Tiny(), work_dir=str(tmp_path / 'work'),
                  experiment_name=f'safety_{uuid.uuid4().hex[:8]}', **kwargs)


def test_finding1_load_from_refuses_payload(tmp_path):
    path, marker = _malicious(tmp_path, {'fc.weight': torch.ones(2, 2), 'fc.bias': torch.ones(2)})
    runner = _tiny_runner(tmp_path, load_from=path)
    with pytest.raises(UnsafeCheckpointError) as info:
        runner.load_or_resume()
    _check_refusal(str(info.value), path, 'builtins.exec')
    assert not marker.exists()


def test_finding1_load_from_opt_in(tmp_path, trusted):
    path, marker = _malicious(tmp_path, {'fc.weight': torch.full((2, 2), 3.0),
                                         'fc.bias': torch.ones(2)})
    runner = _tiny_runner(tmp_path, load_from=path)
    runner.load_or_resume()
    assert torch.equal(runner.model.fc.weight, torch.full((2, 2), 3.0))
    assert marker.exists()


@pytest.mark.parametrize('prefix', ['backbone.', None])
def test_finding1_pretrained_init_refuses_payload(tmp_path, prefix):
    from mmpretrain.registry import MODELS

    state = {'backbone.layers.0.weight': torch.ones(4, 3), 'backbone.layers.0.bias': torch.ones(4)}
    path, marker = _malicious(tmp_path, state)
    init_cfg = dict(type='Pretrained', checkpoint=path)
    if prefix:
        init_cfg['prefix'] = prefix
    backbone = MODELS.build(dict(type='mmpretrain.MulSupConMLP', in_channels=3,
                                 hidden_channels=(4,), init_cfg=init_cfg))
    with pytest.raises(UnsafeCheckpointError) as info:
        backbone.init_weights()
    _check_refusal(str(info.value), path, 'builtins.exec')
    assert not marker.exists()


def test_finding1_pretrained_init_opt_in(tmp_path, trusted):
    from mmpretrain.registry import MODELS

    state = {'backbone.layers.0.weight': torch.full((4, 3), 2.0),
             'backbone.layers.0.bias': torch.ones(4)}
    path, marker = _malicious(tmp_path, state)
    backbone = MODELS.build(dict(
        type='mmpretrain.MulSupConMLP', in_channels=3, hidden_channels=(4,),
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.')))
    backbone.init_weights()
    assert torch.equal(backbone.layers[0].weight, torch.full((4, 3), 2.0))
    assert marker.exists()


@pytest.fixture
def toy_data(toy_root):
    return {'toy': toy_root}


def test_finding1_train_resume_refuses_payload(tmp_path, toy_data, run_tool):
    """``tools/train.py CONFIG --resume evil.pth`` exits non-zero before training."""
    cfg = make_tiny(Config.fromfile(osp.join(REPO_ROOT, MOCO)), toy_data, str(tmp_path / 'w'))
    config = str(tmp_path / 'moco.py')
    cfg.dump(config)
    path, marker = _malicious(tmp_path)
    code, output = run_tool('train.py', config, '--work-dir', str(tmp_path / 'w'), '--resume',
                            path)
    assert code != 0
    _check_refusal(output, path, 'builtins.exec')
    assert not marker.exists()
    assert not list((tmp_path / 'w').glob('*.pth'))  # nothing trained, nothing saved


def test_finding1_test_tool_refuses_payload(tmp_path, toy_data, run_tool):
    """``tools/test.py CONFIG evil.pth`` exits non-zero without scoring anything."""
    # test.py never initialises the backbone from init_cfg: the checkpoint is the one loaded
    cfg = make_tiny(Config.fromfile(osp.join(REPO_ROOT, PROBE)), toy_data, str(tmp_path / 'w'),
                    checkpoint=str(tmp_path / 'never_loaded.pth'))
    config = str(tmp_path / 'probe.py')
    cfg.dump(config)
    path, marker = _malicious(tmp_path)
    code, output = run_tool('test.py', config, path, '--work-dir', str(tmp_path / 'w'))
    assert code != 0
    _check_refusal(output, path, 'builtins.exec')
    assert 'multi-label/mAP' not in output
    assert not marker.exists()


# ------------------------------------------------------------------------------------------
# the allowlist: what it holds, numpy 1 / numpy 2 pickles, state checks


def _names():
    return {name for _, name in compat.checkpoint_allowlist()}


def test_finding1_allowlist_names_both_numpy_layouts():
    names = _names()
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        assert f'{module}._reconstruct' in names
        assert f'{module}.scalar' in names
    assert {'numpy.ndarray', 'numpy.dtype', 'builtins.getattr',
            'mmengine.logging.history_buffer.HistoryBuffer'} <= names
    # the numeric dtype classes a pickled dtype is rebuilt on, and nothing that holds objects
    dtype_classes = {obj for obj, _ in compat.checkpoint_allowlist()
                     if isinstance(obj, type) and issubclass(obj, np.dtype)}
    for code in 'bool int8 int16 int32 int64 uint8 uint32 uint64 float16 float32 float64'.split():
        assert type(np.dtype(code)) in dtype_classes, code
    for code in ('O', 'U', 'S', 'V', 'M8', 'complex128'):
        assert type(np.dtype(code)) not in dtype_classes, code
    # builtins.getattr is a guarded stand-in, never the real one
    assert getattr not in {obj for obj, _ in compat.checkpoint_allowlist()}


def _mmengine_like(path):
    buffer = HistoryBuffer()
    buffer.update(1.5)
    buffer.update(2.0)
    torch.save({'state_dict': {'w': torch.ones(2)},
                'message_hub': {'log_scalars': {'train/loss': buffer},
                                'runtime_info': {'eta': np.float64(3.0)}},
                'meta': {'a': np.arange(3, dtype=np.float32), 'i': np.int64(7)}}, path)


def _rewrite_pickle(src, dst, old, new):
    """Copy a zip checkpoint with ``old`` replaced by ``new`` in its pickle."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith('data.pkl'):
                assert old in data
                data = data.replace(old, new)
            zout.writestr(info, data)


@pytest.mark.parametrize('layout', ['numpy.core.multiarray', 'numpy._core.multiarray'])
def test_finding1_numpy1_and_numpy2_pickles_load(tmp_path, layout):
    """numpy 2 writes ``numpy._core.multiarray`` where numpy 1 writes ``numpy.core.multiarray``
    (checked against a real numpy 2.2.6 pickle when this was written)."""
    written = tmp_path / 'written.pth'
    _mmengine_like(written)
    current = ('numpy._core.multiarray' if int(np.__version__.split('.')[0]) >= 2
               else 'numpy.core.multiarray')
    path = tmp_path / 'layout.pth'
    _rewrite_pickle(written, path, current.encode(), layout.encode())
    globals_ = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    assert f'{layout}._reconstruct' in globals_
    assert f'{layout}.scalar' in globals_
    checkpoint = _load_checkpoint(str(path), map_location='cpu')
    assert checkpoint['message_hub']['log_scalars']['train/loss'].current() == 2.0
    assert checkpoint['message_hub']['runtime_info']['eta'] == 3.0
    np.testing.assert_array_equal(checkpoint['meta']['a'], np.arange(3, dtype=np.float32))
    assert checkpoint['meta']['i'] == 7


def test_finding1_getattr_only_serves_history_statistics(tmp_path):
    for owner, name in ((HistoryBuffer, '__init__'), (HistoryBuffer, 'update'),
                        (getattr, '__self__'), (np.ndarray, 'tofile')):
        path = tmp_path / 'getattr.pth'
        torch.save({'x': _GetAttr(owner, name)}, path)
        with pytest.raises(UnsafeCheckpointError, match=f'getattr.*{name}'):
            _load_checkpoint(str(path), map_location='cpu')


def test_finding1_history_buffer_with_extra_state_refused(tmp_path):
    buffer = HistoryBuffer()
    buffer.update(1.0)
    buffer.hook = 'anything'  # an attribute mmengine never writes
    path = tmp_path / 'extra.pth'
    torch.save({'message_hub': {'log_scalars': {'loss': buffer}}}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"extra.pth.*\['loss'\].*hook"):
        _load_checkpoint(str(path), map_location='cpu')


def test_finding1_history_statistics_table_tampering_refused_and_restored(tmp_path):
    before = dict(HistoryBuffer._statistics_methods)
    buffer = HistoryBuffer()
    buffer.update(1.0)
    path = tmp_path / 'table.pth'
    # the class-level table is pickled with every buffer; an extra entry points at an
    # allowlisted callable
    HistoryBuffer._statistics_methods['mean'] = np.ndarray
    try:
        torch.save({'message_hub': {'log_scalars': {'loss': buffer}}}, path)
    finally:
        HistoryBuffer._statistics_methods.clear()
        HistoryBuffer._statistics_methods.update(before)
    with pytest.raises(UnsafeCheckpointError, match='statistics methods'):
        _load_checkpoint(str(path), map_location='cpu')
    assert HistoryBuffer._statistics_methods == before


@pytest.mark.parametrize(('value', 'what'), [
    (np.array([1, 'a'], dtype=object), 'dtype object'),
    (np.array(['text']), 'dtype <U4'),
    ({'buffers': [np.zeros(2, dtype='complex128')]}, 'complex128'),
])
def test_finding1_check_refuses_non_numeric_numpy(value, what):
    with pytest.raises(UnsafeCheckpointError, match=what):
        compat.check_loaded_checkpoint({'meta': value})


def test_finding1_check_accepts_what_mmengine_writes(tmp_path):
    path = tmp_path / 'ok.pth'
    _mmengine_like(path)
    compat.check_loaded_checkpoint(torch.load(path, weights_only=False))


def test_finding1_object_dtype_array_refused_at_load(tmp_path):
    path = tmp_path / 'objects.pth'
    torch.save({'meta': np.array([1, None], dtype=object)}, path)
    with pytest.raises(UnsafeCheckpointError, match='objects.pth'):
        _load_checkpoint(str(path), map_location='cpu')


def test_finding1_corrupt_checkpoint_error_names_file(tmp_path):
    path = tmp_path / 'truncated.pth'
    _mmengine_like(path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(Exception, match='truncated.pth'):
        _load_checkpoint(str(path), map_location='cpu')


def test_finding1_http_loader_goes_through_the_allowlist(tmp_path, monkeypatch):
    """``http(s)://`` checkpoints: torch.hub's loader defaults to ``weights_only=False``; ours
    passes ``weights_only=True`` and refuses the payload of a (here: already cached) file."""
    from mmengine.runner import checkpoint as ckpt_mod

    path, marker = _malicious(tmp_path)
    hub_dir = tmp_path / 'torch' / 'hub' / 'checkpoints'
    hub_dir.mkdir(parents=True)
    os.replace(path, hub_dir / 'evil.pth')
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    assert ckpt_mod.load_url is compat._load_url
    with pytest.raises(UnsafeCheckpointError, match='https://example.invalid/evil.pth'):
        _load_checkpoint('https://example.invalid/evil.pth', map_location='cpu')
    assert not marker.exists()


def test_finding1_stream_of_refusals_leaves_loader_usable(tmp_path):
    """A refused load does not leave the allowlist registered process-wide, and a good
    checkpoint loads right after."""
    path, _ = _malicious(tmp_path)
    with pytest.raises(UnsafeCheckpointError):
        _load_checkpoint(path, map_location='cpu')
    registered = {name for entry in torch.serialization.get_safe_globals()
                  for name in ([entry[1]] if isinstance(entry, tuple) else [])}
    assert not registered & _names()
    good = tmp_path / 'good.pth'
    _mmengine_like(good)
    assert _load_checkpoint(str(good), map_location='cpu')['meta']['i'] == 7
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(good)  # plain torch.load outside our loader is as strict as stock
