# Copyright (c) mlcl_plugin authors. All rights reserved.
"""A head that runs any two-view loss of `Lightly <https://github.com/lightly-ai/lightly>`_.

Lightly's losses take the two projected views, ``loss(out0, out1)``; mmpretrain's heads take
what their algorithm computes. :class:`LightlyLossHead` bridges the two so that a config can
swap e.g. ``NTXentLoss`` (with its memory bank), ``DCLLoss`` or ``BarlowTwinsLoss`` into
:class:`~mlcl_plugin.models.selfsup.MultiLabelMoCo` or into one of mmpretrain's stock two-view
algorithms without any code. ``lightly`` is an optional dependency, imported only when the
head is built (``pip install "mlcl_plugin[lightly]"``).
"""
import inspect
from typing import Optional, Tuple, Union

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn

# Lightly losses whose ``forward(out0, out1)`` takes two projected views ``B x D`` (checked
# against lightly 1.6 in tests/test_models/test_heads/test_lightly_loss_head.py).
TWO_VIEW_LOSSES = ('BarlowTwinsLoss', 'DCLLoss', 'DCLWLoss', 'DirectCLRLoss', 'MACLLoss',
                   'NTXentLoss', 'NegativeCosineSimilarity', 'TiCoLoss', 'VICRegLoss')
# Lightly losses whose ``forward(z_views)`` takes a list of views; they get ``[out0, out1]``.
VIEW_LIST_LOSSES = ('EMPSSLLoss', 'FroSSLLoss')
SUPPORTED_LOSSES = TWO_VIEW_LOSSES + VIEW_LIST_LOSSES

_INSTALL_HINT = ('LightlyLossHead needs the optional dependency lightly: pip install lightly '
                 '(or pip install "mlcl_plugin[lightly]")')


def import_lightly_loss():
    """Import and return ``lightly.loss``, or raise ImportError saying how to install it."""
    try:
        import lightly.loss as lightly_loss
    except ImportError as err:
        raise ImportError(f'{_INSTALL_HINT}; importing it failed with: {err}') from err
    return lightly_loss


def lightly_loss_classes() -> Tuple[str, ...]:
    """Names of every loss class (``nn.Module`` subclass) that ``lightly.loss`` exports."""
    module = import_lightly_loss()
    classes = {name: getattr(module, name) for name in dir(module)}
    return tuple(sorted(name for name, obj in classes.items()
                        if inspect.isclass(obj) and issubclass(obj, nn.Module)))


def build_lightly_loss(cfg: Union[dict, nn.Module]) -> nn.Module:
    """Build ``lightly.loss.<type>(**kwargs)`` from ``dict(type=..., **kwargs)``.

    Args:
        cfg (dict | nn.Module): ``dict(type='NTXentLoss', temperature=0.2, ...)``; an
            already-built module is returned unchanged (e.g. ``DCLLoss(weight_fn=...)`` with a
            callable, which a config file cannot hold).

    Returns:
        nn.Module: the Lightly loss.

    Raises:
        ImportError: lightly is not installed (the message says how to install it).
        ValueError: the type is unknown or not a two-view loss (the message lists the
            supported ones), or the keyword arguments do not fit its constructor (the message
            lists the accepted ones).
    """
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError('loss must be a dict with a `type` naming a lightly.loss class, e.g. '
                         f"dict(type='NTXentLoss', temperature=0.2), got {cfg!r}")
    kwargs = dict(cfg)
    name = kwargs.pop('type')
    module = import_lightly_loss()
    if name not in SUPPORTED_LOSSES:
        reason = ('does not take two projected views' if name in lightly_loss_classes()
                  else 'is not a lightly.loss class')
        raise ValueError(f'LightlyLossHead: loss type {name!r} {reason}; available two-view '
                         f'losses: {", ".join(SUPPORTED_LOSSES)}')
    cls = getattr(module, name)
    params = [p for p in inspect.signature(cls).parameters.values()
              if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError as err:
        accepted = ', '.join(f'{p.name}={p.default!r}' if p.default is not p.empty else p.name
                             for p in params)
        raise ValueError(f'LightlyLossHead: bad arguments for lightly.loss.{name} '
                         f'({err}); it accepts: {accepted}') from err
    if 'memory_bank_size' in kwargs and isinstance(kwargs['memory_bank_size'], list):
        # mmengine configs may turn tuples into lists; Lightly wants (num, dim)
        kwargs['memory_bank_size'] = tuple(kwargs['memory_bank_size'])
    return cls(**kwargs)


@MODELS.register_module()
class LightlyLossHead(BaseModule):
    """Wrap a Lightly two-view loss as an mmpretrain head.

    The head receives the two projected views of the algorithm, optionally passes the first
    through a ``predictor`` and detaches the second (SimSiam / BYOL style), and returns
    ``loss_weight * lightly_loss(view0, view1)``. How the views arrive depends on the caller
    (dispatch on the call, no subclass per algorithm):

    * ``loss(view0, view1)`` - mmpretrain's stock two-view algorithms, through config alone:

      - ``BarlowTwins`` calls ``head.loss(z1, z2)`` once with both views from the trained
        encoder: the carrier for SimCLR-style losses (``NTXentLoss`` without memory bank,
        ``DCLLoss``, ``BarlowTwinsLoss``, ``VICRegLoss``, ``TiCoLoss``...).
      - ``SimSiam`` calls ``head.loss(z1, z2) + head.loss(z2, z1)``; with
        ``predictor=dict(type='NonLinearNeck', ...)``, ``detach_target=True`` and
        ``NegativeCosineSimilarity`` it equals stock SimSiam's
        ``LatentPredictHead(loss=dict(type='CosineSimilarityLoss'))``.
      - ``BYOL`` and ``MoCoV3`` call ``head.loss(online, target)`` with a momentum-encoder
        target (no gradient); add a ``predictor`` as their stock heads have.

      mmpretrain's ``MoCo`` and ``SimCLR`` are **not** supported: they pass similarity
      logits ``(l_pos N x 1, l_neg N x K)`` to their head, from which no two-view loss can be
      computed; the head raises a ``ValueError`` saying so. Use ``MultiLabelMoCo`` (momentum
      encoder + queue) or ``BarlowTwins`` (one encoder, two views) as the carrier instead.
    * ``loss(query, keys, query_labels, key_labels)`` - :class:`MultiLabelMoCo`: ``query``
      (``B x D``, this rank) and ``keys``, the reference set whose first ``G*B`` rows are the
      momentum keys of the global batch in rank order (followed by the label queue). The head
      takes this rank's own keys, rows ``[rank*B, (rank+1)*B)``, as the second view and
      ignores the queue and the labels (Lightly losses are label-free; a loss with a memory
      bank such as ``NTXentLoss(memory_bank_size=...)`` keeps its own). Both views arrive
      L2-normalised and the keys carry no gradient, so symmetric losses (BarlowTwins, VICReg)
      become one-sided, like a BYOL target.

    Lightly's own ``gather_distributed=True`` gathers across ranks under DDP. Lightly's memory
    banks are non-persistent buffers: checkpoints do not carry them and ``--resume`` restarts
    them from random vectors (as in Lightly).

    Args:
        loss (dict | nn.Module): ``dict(type=<lightly.loss class>, **kwargs)``, e.g.
            ``dict(type='NTXentLoss', temperature=0.2, memory_bank_size=(4096, 128))``; one of
            :data:`SUPPORTED_LOSSES`. An already-built loss module is used as is.
        predictor (dict, optional): a neck config (e.g. ``NonLinearNeck``) applied to the first
            view as ``predictor([view0])[0]`` (mmpretrain's ``LatentPredictHead`` convention,
            so ``paramwise_cfg`` keys ``'predictor'`` and ``SimSiamHook`` work). Defaults to
            None.
        detach_target (bool): stop the gradient through the second view. Defaults to False.
        loss_weight (float): multiplier of the loss. Defaults to 1.0.
        init_cfg (dict | list, optional): initialisation config.

    Examples:
        >>> head = dict(type='LightlyLossHead',
        ...             loss=dict(type='NTXentLoss', temperature=0.2,
        ...                       memory_bank_size=(4096, 128)))
    """

    def __init__(self,
                 loss: Union[dict, nn.Module],
                 predictor: Optional[dict] = None,
                 detach_target: bool = False,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.loss_module = build_lightly_loss(loss)
        self.loss_name = type(self.loss_module).__name__
        self.predictor = MODELS.build(predictor) if predictor is not None else None
        self.detach_target = bool(detach_target)
        self.loss_weight = float(loss_weight)

    def extra_repr(self) -> str:
        return f'detach_target={self.detach_target}, loss_weight={self.loss_weight}'

    def loss(self,
             view0: torch.Tensor,
             view1: torch.Tensor,
             query_labels: Optional[torch.Tensor] = None,
             key_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The Lightly loss of the two views.

        Args:
            view0 (Tensor): first view / query, ``B x D``.
            view1 (Tensor): second view / target ``B x D``; or, when labels are passed
                (``MultiLabelMoCo``), the ``N x D`` reference set whose rows
                ``[rank*B, (rank+1)*B)`` are this rank's keys.
            query_labels (Tensor, optional): ``B x C``; marks the ``MultiLabelMoCo`` call,
                otherwise unused.
            key_labels (Tensor, optional): ``N x C``; unused.

        Returns:
            Tensor: scalar loss.
        """
        if query_labels is not None or key_labels is not None:
            view1 = self._own_keys(view0, view1)
        elif view0.shape != view1.shape:
            raise ValueError(
                f'LightlyLossHead ({self.loss_name}) needs two projected views of the same '
                f"shape B x D, got {tuple(view0.shape)} and {tuple(view1.shape)}. mmpretrain's "
                'MoCo and SimCLR pass similarity logits (N x 1 positives, N x K negatives) to '
                'their head, from which no two-view loss can be computed: use MultiLabelMoCo '
                '(momentum encoder + queue) or BarlowTwins (one encoder, two views) as the '
                'algorithm, or BYOL / MoCoV3 / SimSiam with a predictor')
        if self.predictor is not None:
            view0 = self.predictor([view0])[0]
        if self.detach_target:
            view1 = view1.detach()
        if self.loss_name in VIEW_LIST_LOSSES:
            loss = self.loss_module([view0, view1])
        else:
            loss = self.loss_module(view0, view1)
        return self.loss_weight * loss

    @staticmethod
    def _own_keys(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """This rank's ``B`` keys out of MultiLabelMoCo's reference set (gathered in rank
        order, then the queue)."""
        batch, world = query.shape[0], get_world_size()
        if keys.dim() != 2 or keys.shape[0] < batch * world:
            raise ValueError(
                f'LightlyLossHead: with labels (the MultiLabelMoCo call) keys must start with '
                f'the {world} x {batch} gathered batch keys, got keys {tuple(keys.shape)} for '
                f'a query batch {tuple(query.shape)}')
        start = get_rank() * batch
        return keys[start:start + batch]  # B x D
