# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Key encoder of MoCo-style algorithms, updated with one fused (foreach) lerp per step."""
from typing import List

import torch
from mmengine.model import ExponentialMovingAverage
from torch import nn


class MomentumEncoder(ExponentialMovingAverage):
    """``mmengine.model.ExponentialMovingAverage`` whose parameter update is one
    ``torch._foreach_lerp_`` over all floating-point parameters instead of one ``lerp_`` kernel
    (plus Python dispatch) per parameter.

    Same numbers as the parent, in the parent's convention: after the first step (a copy)
    ``avg = (1 - momentum) * avg + momentum * src`` every ``interval`` steps, and buffers copied
    from the source when ``update_buffers=False``. The per-parameter loop is pure overhead for
    small encoders such as the vector track's MLP, where kernel launches dominate the step
    (``tools/benchmarks/benchmark_vector_pretrain_step.py`` measures that step). Defers to the
    parent when averaged and source parameters live on different devices or dtypes.

    Args:
        model (nn.Module): the query encoder to copy.
        momentum (float): mmengine's momentum (the weight of the *source*): 0.001 is MoCo's
            0.999.
        **kwargs: passed to ``ExponentialMovingAverage`` (``interval``, ``update_buffers``...).
    """

    def __init__(self, model: nn.Module, momentum: float = 0.0002, **kwargs) -> None:
        super().__init__(model, momentum, **kwargs)
        self._keys: List[str] = [
            k for k, p in self.avg_parameters.items() if p.dtype.is_floating_point]

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """Average ``model``'s parameters into this copy (see the class docstring).

        Args:
            model (nn.Module): the source (query) encoder, with the same parameter names as
                the module given at construction.
        """
        if self.steps == 0 or self.steps % self.interval != 0 or not self._keys:
            return super().update_parameters(model)
        # looked up every step, not cached: Module.to() swaps a parameter's .data
        avg = [self.avg_parameters[k].data for k in self._keys]
        src_all = model.state_dict() if self.update_buffers else dict(model.named_parameters())
        src = [src_all[k].data for k in self._keys]
        if any(s.device != a.device or s.dtype != a.dtype for s, a in zip(src, avg)):
            return super().update_parameters(model)
        torch._foreach_lerp_(avg, src, self.momentum)
        if not self.update_buffers:
            for b_avg, b_src in zip(self.module.buffers(), model.buffers()):
                b_avg.data.copy_(b_src.data.to(b_avg.device))
        self.steps += 1
