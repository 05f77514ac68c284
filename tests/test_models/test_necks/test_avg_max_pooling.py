# Copyright (c) mlcl_plugin authors. All rights reserved.
"""AvgMaxPooling: (global max pool + global average pool) / 2 of each feature map."""
import pytest
import torch
from mmpretrain.registry import MODELS

import mlcl_plugin  # noqa: F401  (registers the neck)


def test_mean_of_max_and_average_pool():
    neck = MODELS.build(dict(type='AvgMaxPooling'))
    x = torch.randn(2, 3, 4, 5)
    (out, ) = neck((x, ))
    assert out.shape == (2, 3)
    for n in range(2):
        for c in range(3):
            expected = (x[n, c].max() + x[n, c].mean()) / 2
            torch.testing.assert_close(out[n, c], expected)
    torch.testing.assert_close(neck(x), out)
    only_avg = MODELS.build(dict(type='AvgMaxPooling', max_weight=0.0))
    torch.testing.assert_close(only_avg(x), x.mean(dim=(2, 3)))


def test_bad_inputs():
    with pytest.raises(ValueError, match='max_weight'):
        MODELS.build(dict(type='AvgMaxPooling', max_weight=2))
    neck = MODELS.build(dict(type='AvgMaxPooling'))
    with pytest.raises(ValueError, match=r'N x C x \.\.\. feature maps'):
        neck(torch.randn(2, 3))
    with pytest.raises(TypeError, match='tensor or a tuple'):
        neck([torch.randn(2, 3, 4, 4)])
