# Copyright (c) mlcl_plugin authors. All rights reserved.
import pytest
import torch
from mmengine.model import ExponentialMovingAverage
from torch import nn

from mlcl_plugin.models.utils import MomentumEncoder


def _net():
    # a buffer-holding layer too: BatchNorm's running stats are copied, not averaged
    return nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7), nn.ReLU(), nn.Linear(7, 3))


def _perturb(model, step):
    gen = torch.Generator().manual_seed(step)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen))
        model[1].running_mean.add_(torch.randn(7, generator=gen))
        model[1].num_batches_tracked.add_(1)


@pytest.mark.parametrize('kwargs', [dict(), dict(interval=3), dict(update_buffers=True)])
def test_matches_mmengine_ema(kwargs):
    torch.manual_seed(0)
    src = _net()
    ours = MomentumEncoder(src, momentum=0.1, **kwargs)
    ref = ExponentialMovingAverage(src, momentum=0.1, **kwargs)
    for step in range(7):
        ours.update_parameters(src)
        ref.update_parameters(src)
        _perturb(src, step)
    assert ours.steps == ref.steps == 7
    for (k, a), (k2, b) in zip(ours.module.state_dict().items(),
                               ref.module.state_dict().items()):
        assert k == k2
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)
    # the average moved away from both the start and the source
    first = ours.module[0].weight
    assert not torch.equal(first, src[0].weight)


def test_follows_dtype_conversion():
    """Module.double() swaps parameter .data: the update must reach the new tensors."""
    torch.manual_seed(0)
    src = _net()
    ours = MomentumEncoder(src, momentum=0.5)
    ours.update_parameters(src)  # step 0: copy
    src.double()
    ours.double()
    before = ours.module[0].weight.detach().clone()
    with torch.no_grad():
        src[0].weight.add_(1.0)
    ours.update_parameters(src)
    assert ours.module[0].weight.dtype == torch.float64
    torch.testing.assert_close(ours.module[0].weight, 0.5 * before + 0.5 * src[0].weight)

