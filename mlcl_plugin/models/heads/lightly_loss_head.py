# Copyright (c) mlcl_plugin authors. All rights reserved.
"""A head that runs any two-view loss of `Lightly <https://github.com/lightly-ai/lightly>`_.

Lightly's losses take the two projected views, ``loss(out0, out1)``; mmpretrain's heads take
what their algorithm computes. :class:`LightlyLossHead` bridges the two so that a config can
swap e.g. ``NTXentLoss`` (with its memory bank), ``DCLLoss`` or ``BarlowTwinsLoss`` into
:class:`~mlcl_plugin.models.selfsup.MultiLabelMoCo` or into one of mmpretrain's stock two-view
algorithms without any code. A Lightly memory bank is replaced by the plugin's queue,
:class:`~mlcl_plugin.models.utils.LabelMemoryBank`, behind Lightly's memory-bank call
(:class:`LightlyMemoryBank`). ``lightly`` is an optional dependency, imported only when the
head is built (``pip install "mlcl_plugin[lightly]"``).
"""
import inspect
import logging
from typing import Dict, Optional, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn

from ..utils import LabelMemoryBank

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


class LightlyMemoryBank(nn.Module):
    """Lightly's memory-bank call on the plugin's queue.

    Lightly's losses with a memory bank (``NTXentLoss``, ``DirectCLRLoss``) call
    ``memory_bank.forward(out1, update=...)`` and get ``(out1, negatives)``. This module answers
    that call from a :class:`~mlcl_plugin.models.utils.LabelMemoryBank` in ``'every_slot'``
    mode (all ``K`` slots, starting from random unit vectors, as Lightly's
    ``MemoryBankModule``), so the bank of a wrapped Lightly loss is the plugin's one queue:
    persistent (checkpoints carry it and ``--resume`` continues it; a checkpoint written before,
    without the bank, loads with a fresh bank as Lightly's would), gathered across ranks before
    the update when ``gather_distributed``, checked before every write (no NaN key enters),
    remapped on load when ``K`` changes. Unlike Lightly, rows of a batch that run past the end
    of the buffer wrap around instead of being dropped. The queue stores no labels (ids -1).

    Args:
        size (tuple[int, int]): ``(K, D)`` of Lightly's ``memory_bank_size``.
        gather_distributed (bool): gather the batch of every rank before the update.
        feature_dim_first (bool): return negatives as ``D x K`` (Lightly's default) rather
            than ``K x D``.
    """

    def __init__(self, size: Tuple[int, int], gather_distributed: bool,
                 feature_dim_first: bool) -> None:
        super().__init__()
        self.size = tuple(size)
        self.feature_dim_first = bool(feature_dim_first)
        self.queue = LabelMemoryBank(size=size, num_classes=None,
                                     gather_distributed=gather_distributed, mode='every_slot',
                                     name='LightlyLossHead',
                                     options=('memory_bank_size[0]', 'memory_bank_size[1]',
                                              'the queue (it stores no labels)'))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        inner = [f'{prefix}queue.{name}' for name in LabelMemoryBank.STATE_NAMES]
        if not any(key in state_dict for key in inner):
            # a checkpoint written while Lightly's non-persistent bank was used: keep the
            # fresh bank, as Lightly itself would after a resume
            print_log(f'LightlyLossHead: the checkpoint holds no memory bank ({inner[0]}); '
                      'starting from a fresh bank', logger='current', level=logging.WARNING)
            for key, value in zip(inner, self.queue.state_dict().values()):
                state_dict[key] = value
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, output: torch.Tensor, labels: Optional[torch.Tensor] = None,
                update: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
        """Negatives from the bank as it was before this call, then the update.

        Args:
            output (Tensor): ``B x D`` keys of this rank (Lightly's ``out1``).
            labels (None): ignored (Lightly's signature).
            update (bool): write the (gathered) keys into the bank.

        Returns:
            tuple[Tensor, Tensor]: ``output`` unchanged and the ``K`` bank entries,
            ``D x K`` with ``feature_dim_first`` else ``K x D``.
        """
        negatives, _ = self.queue.entries()  # K x D, a copy: the update cannot change it
        if update:
            ids = torch.full((output.shape[0], ), -1, dtype=torch.long, device=output.device)
            self.queue.enqueue(*self.queue.gather(output.detach(), ids))
        return output, (negatives.t() if self.feature_dim_first else negatives)


def _use_plugin_memory_bank(loss: nn.Module) -> None:
    """Replace the Lightly memory bank of ``loss`` (if it has an enabled one) by the plugin's."""
    bank = getattr(loss, 'memory_bank', None)
    if bank is None or isinstance(bank, LightlyMemoryBank) or len(bank.size) != 2:
        return  # no bank, already replaced, or a disabled one (size 0)
    loss.memory_bank = LightlyMemoryBank(bank.size, bank.gather_distributed,
                                         bank.feature_dim_first)


@MODELS.register_module()
class LightlyLossHead(BaseModule):
    """Wrap a Lightly two-view loss as an mmpretrain head.

    The head receives two projected views from its algorithm, optionally passes the first
    through a ``predictor`` and detaches the second (SimSiam / BYOL style), and computes
    ``loss_weight * lightly_loss(view0, view1)``. It serves two kinds of callers, each with its
    own call (no subclass per algorithm):

    * ``loss(view0, view1) -> Tensor``: the head call of mmpretrain's stock two-view
      algorithms, which wrap the returned tensor into their loss dict themselves; through config
      alone:

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
    * ``loss(query, keys, query_labels, key_labels, pair_index=...) -> dict``: the plugin's
      head contract (``docs/design/heads_and_losses.md``), used by :class:`MultiLabelMoCo`:
      ``query`` (``B x D``, this rank) and ``keys``, the reference set the algorithm gathered;
      ``pair_index`` names each query's own key in it, which is the second view (without it,
      the set must start with the own keys, as on one process). The queue part
      of the reference set and the labels are not used (Lightly losses are label-free; a loss
      with a memory bank keeps its own, see below). Both views arrive L2-normalised and the
      keys carry no gradient, so symmetric losses (BarlowTwins, VICReg) become one-sided, like
      a BYOL target.

    A Lightly memory bank (``NTXentLoss(memory_bank_size=...)``, ``DirectCLRLoss``) is
    replaced by :class:`LightlyMemoryBank`, the plugin's queue behind Lightly's call: the same
    negatives as Lightly's bank, but checkpointed (``--resume`` continues it), checked and
    remapped on load like every queue of the plugin. Lightly's own ``gather_distributed=True``
    (in-batch negatives of every rank) stays inside the Lightly loss.

    Args:
        loss (dict | nn.Module): ``dict(type=<lightly.loss class>, **kwargs)``, e.g.
            ``dict(type='NTXentLoss', temperature=0.2, memory_bank_size=(4096, 128))``; one of
            :data:`SUPPORTED_LOSSES`. An already-built loss module is used as is (its memory
            bank, if any, is replaced as above).
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
        _use_plugin_memory_bank(self.loss_module)
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
             key_labels: Optional[torch.Tensor] = None,
             pair_index: Optional[torch.Tensor] = None,
             self_index: Optional[torch.Tensor] = None
             ) -> Union[torch.Tensor, Dict[str, torch.Tensor]]:
        """The Lightly loss of the two views.

        Args:
            view0 (Tensor): first view / query, ``B x D``.
            view1 (Tensor): second view / target ``B x D``; or, in the plugin's call, the
                ``K x D`` reference set holding each query's own key at ``pair_index``.
            query_labels (Tensor, optional): ``B x C``; marks the plugin's call, otherwise
                unused.
            key_labels (Tensor, optional): ``K x C``; unused.
            pair_index (Tensor, optional): ``(B,)`` row of each query's own key in the
                reference set; None means the set starts with them (rows ``0..B-1``).
            self_index (Tensor, optional): not supported (in-batch use); passing one raises.

        Returns:
            Tensor | dict[str, Tensor]: the stock call ``loss(view0, view1)`` returns the
            scalar loss (mmpretrain's self-supervised head convention); the plugin's call
            returns ``dict(loss=...)``.
        """
        plugin_call = query_labels is not None or key_labels is not None
        if plugin_call:
            view1 = self._own_keys(view0, view1, pair_index, self_index)
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
        loss = self.loss_weight * loss
        return dict(loss=loss) if plugin_call else loss

    @staticmethod
    def _own_keys(query: torch.Tensor, keys: torch.Tensor, pair_index: Optional[torch.Tensor],
                  self_index: Optional[torch.Tensor]) -> torch.Tensor:
        """Each query's own key out of the reference set, ``B x D``."""
        if self_index is not None:
            raise ValueError('LightlyLossHead takes no self_index: its two views are the query '
                             'and its own key (pair_index), never the query itself')
        batch = query.shape[0]
        if pair_index is None:
            # the contract's default: the reference set starts with the queries' own keys
            if keys.dim() != 2 or keys.shape[0] < batch:
                raise ValueError(
                    f'LightlyLossHead: without pair_index the reference keys must start with '
                    f'the {batch} own keys of the queries, got keys {tuple(keys.shape)} for a '
                    f'query batch {tuple(query.shape)}; pass pair_index (the row of each '
                    f"query's own key)")
            return keys[:batch]
        if pair_index.dim() != 1 or pair_index.shape[0] != batch:
            raise ValueError(f'LightlyLossHead: pair_index must hold one row per query '
                             f'({batch}), got shape {tuple(pair_index.shape)}')
        return keys[pair_index]  # B x D
