# Copyright (c) mlcl_plugin authors. All rights reserved.
import copy

import numpy as np
import pytest
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope
from mmpretrain.registry import TRANSFORMS

import mlcl_plugin  # noqa: F401  (registers the transform)
from mlcl_plugin.datasets.transforms import RandomFeatureMask


def _seed(seed):
    # the transform draws from numpy's global generator (mmengine seeds it), so seed that
    np.random.seed(seed)  # noqa: NPY002


def _global_state():
    _, key, pos, _, _ = np.random.get_state()  # noqa: NPY002
    return np.append(key, pos)


def _vec(n=10000, seed=0):
    # strictly non-zero values, so a zero in the output can only come from the mask
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n)).astype(np.float32)


def test_build_and_repr():
    t = TRANSFORMS.build(dict(type='RandomFeatureMask', prob=0.3, key='feat'))
    assert isinstance(t, RandomFeatureMask)
    assert t.prob == 0.3
    assert t.key == 'feat'
    assert repr(t) == "RandomFeatureMask(prob=0.3, key='feat')"
    assert repr(RandomFeatureMask()) == "RandomFeatureMask(prob=0.5, key='img')"


@pytest.mark.parametrize('prob', [0.5, 0.2, 0.9])
def test_masking_rate_and_values(prob):
    _seed(1)
    x = _vec()
    results = RandomFeatureMask(prob=prob)(dict(img=x.copy()))
    out = results['img']
    assert out.dtype == np.float32
    assert out.shape == x.shape
    zero = out == 0
    assert abs(zero.mean() - prob) < 0.02
    # kept features are unchanged, bit for bit
    np.testing.assert_array_equal(out[~zero], x[~zero])


def test_zeros_exactly_where_mask_drops():
    t = RandomFeatureMask(prob=0.5)
    x = _vec(1000)
    _seed(3)
    keep = t.random_keep_mask(x.shape[0])
    assert keep.dtype == np.bool_
    assert keep.shape == x.shape
    _seed(3)
    out = t(dict(img=x.copy()))['img']
    np.testing.assert_array_equal(out == 0, ~keep)
    np.testing.assert_array_equal(out[keep], x[keep])


def test_input_not_modified_and_other_keys_kept():
    x = _vec(100)
    orig = x.copy()
    results = RandomFeatureMask(prob=0.5)(dict(img=x, gt_label=[1, 2]))
    np.testing.assert_array_equal(x, orig)
    assert results['gt_label'] == [1, 2]
    assert set(results) == {'img', 'gt_label'}


def test_custom_key_and_cast():
    x = np.arange(1, 51, dtype=np.float64)
    results = RandomFeatureMask(prob=0.5, key='feat')(dict(feat=x, img='untouched'))
    assert results['img'] == 'untouched'
    out = results['feat']
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[out != 0], x[out != 0].astype(np.float32))


def test_prob_zero_is_identity():
    x = _vec(100)
    _seed(0)
    state = _global_state()
    out = RandomFeatureMask(prob=0)(dict(img=x))['img']
    assert out is x  # float32 input: no copy
    # no random number consumed
    np.testing.assert_array_equal(_global_state(), state)
    out64 = RandomFeatureMask(prob=0.0)(dict(img=x.astype(np.float64)))['img']
    assert out64.dtype == np.float32
    np.testing.assert_array_equal(out64, x)


def test_seeding_reproducible():
    t = RandomFeatureMask(prob=0.5)
    x = _vec(500)
    _seed(42)
    a = t(dict(img=x.copy()))['img']
    b = t(dict(img=x.copy()))['img']
    _seed(42)
    a2 = t(dict(img=x.copy()))['img']
    np.testing.assert_array_equal(a, a2)
    assert not np.array_equal(a == 0, b == 0)


def test_multiview_views_differ():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose([
            dict(
                type='MultiView',
                num_views=2,
                transforms=[[dict(type='RandomFeatureMask', prob=0.5)]]),
            dict(type='PackInputs'),
        ])
    x = _vec(200)
    _seed(0)
    packed = pipeline(dict(img=x.copy(), gt_label=[0, 3]))
    v1, v2 = packed['inputs']
    assert tuple(v1.shape) == tuple(v2.shape) == (200, )
    m1, m2 = (v1 == 0).numpy(), (v2 == 0).numpy()
    assert not np.array_equal(m1, m2)
    for v, m in ((v1, m1), (v2, m2)):
        np.testing.assert_array_equal(v.numpy()[~m], x[~m])
    assert packed['data_samples'].gt_label.tolist() == [0, 3]


@pytest.mark.parametrize('prob', [-0.1, 1.0, 1.5, '0.5', None, True])
def test_invalid_prob(prob):
    with pytest.raises(ValueError, match='prob'):
        RandomFeatureMask(prob=prob)


def test_invalid_key_type():
    with pytest.raises(TypeError, match='key'):
        RandomFeatureMask(key=3)


def test_invalid_inputs():
    t = RandomFeatureMask(prob=0.5, key='feat')
    with pytest.raises(ValueError, match=r"'feat'.*\(2, 3\)"):
        t(dict(feat=np.ones((2, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"'feat'.*\(\)"):
        t(dict(feat=np.array(1.0, dtype=np.float32)))
    with pytest.raises(TypeError, match="'feat'.*list"):
        t(dict(feat=[1.0, 2.0]))
    with pytest.raises(TypeError, match="'feat'.*dtype"):
        t(dict(feat=np.array(['a', 'b'])))
    with pytest.raises(KeyError, match='feat'):
        t(dict(img=np.ones(3, dtype=np.float32)))
    # prob=0 validates too
    with pytest.raises(ValueError, match=r"'img'.*\(2, 2\)"):
        RandomFeatureMask(prob=0)(dict(img=np.ones((2, 2))))


def test_deepcopy_independent():
    t = RandomFeatureMask(prob=0.5)
    t2 = copy.deepcopy(t)
    assert repr(t2) == repr(t)
