# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Cross-rank gathering for contrastive losses.

``mmengine.dist.all_gather`` carries no gradient, and mmpretrain's gradient-carrying gather is
private to its SimCLR module, so the plugin has its own. Every rank must contribute tensors of
the same shape (use ``drop_last=True`` in pretraining dataloaders).
"""
import torch
import torch.distributed as torch_dist
from mmengine.dist import all_gather, all_reduce, get_world_size, is_distributed


class GatherLayer(torch.autograd.Function):
    """All-gather whose backward returns each rank the summed gradient of its own slice.

    Rank r's loss depends on every rank's tensors, so the gradient of rank r's input is the
    sum over ranks of the gradients flowing into slot r; DDP then averages parameter gradients
    over ranks as usual.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> tuple:
        output = [torch.zeros_like(x) for _ in range(torch_dist.get_world_size())]
        torch_dist.all_gather(output, x.contiguous())
        return tuple(output)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor) -> torch.Tensor:
        all_grads = torch.stack(grads)  # world x ...
        torch_dist.all_reduce(all_grads)
        return all_grads[torch_dist.get_rank()]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank along dim 0, keeping the autograd graph.

    Returns ``x`` itself when not distributed.
    """
    if not is_distributed():
        return x
    return torch.cat(GatherLayer.apply(x), dim=0)


@torch.no_grad()
def gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank along dim 0 (rank order), without gradient."""
    if not is_distributed():
        return x
    return torch.cat(all_gather(x), dim=0)


def global_mean_factor(count: torch.Tensor) -> torch.Tensor:
    """Divisor that turns a per-rank *sum* into the global mean under DDP averaging.

    A loss ``sum_r / count_r`` averaged over ranks by DDP is not the loss of the concatenated
    batch when the counts differ between ranks. Dividing each rank's sum by
    ``sum_over_ranks(count) / world_size`` instead makes the DDP average (of values and
    gradients) equal the single-process loss on the concatenated batch. The all-reduce is a
    collective on a device tensor, not a host sync.

    Args:
        count (Tensor): scalar count of this rank's loss terms.

    Returns:
        Tensor: ``max(global_count, 1) / world_size`` (``max(count, 1)`` when not distributed).
    """
    count = count.detach().float()
    if is_distributed():
        count = count.clone()
        all_reduce(count, op='sum')  # in place
        return count.clamp_min(1.0) / get_world_size()
    return count.clamp_min(1.0)
