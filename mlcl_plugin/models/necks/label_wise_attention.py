# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Label-wise attention neck of MulCon (Dao et al., arXiv 2107.11626).

MulCon ("Multi-Label Image Classification with Contrastive Learning") turns a backbone feature
map into one embedding per label with Set-Transformer style multi-head attention blocks
(Lee et al., "Set Transformer", ICML 2019): self-attention over the spatial tokens, a
cross-attention with ``L`` learned label queries, then self-attention over the ``L`` label
vectors. This module is written from a description of the reference's blocks
(``docs/algorithms/mulcon.md``); the reference code is not reused.

Differences between the reference blocks and textbook (Vaswani et al.) attention, both kept
here by default:

* **Full-width scaling.** Scores are divided by ``sqrt(dim_out)`` (the full output width), not
  by ``sqrt(dim_out // num_heads)`` (the per-head width). ``scale='head'`` gives the textbook
  scaling.
* **Residual on the projected query.** The attention output is added to ``fc_q(x_q)`` (the
  projected query), not to the block input, and there is no output projection before the
  residual; the feed-forward part is ``O + ReLU(fc_o(O))`` (one layer). This is the MAB of the
  Set Transformer and is not changed by ``scale``.
"""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


class MultiheadAttentionBlock(nn.Module):
    """Set-Transformer multi-head attention block ("MAB") as used by MulCon.

    With ``Q = fc_q(x_q)``, ``K = fc_k(x_kv)``, ``V = fc_v(x_kv)`` (all ``dim_out`` wide) and
    heads formed by splitting the channel dimension into ``num_heads`` contiguous chunks::

        A_h = softmax(Q_h K_h^T / sqrt(d))
        O   = LN0(Q + concat_h(A_h V_h))
        O   = LN1(O + ReLU(fc_o(O)))

    where ``d = dim_out`` for ``scale='full'`` (reference) or ``d = dim_out // num_heads`` for
    ``scale='head'`` (textbook). All heads are computed with batched matrix products.

    Args:
        dim_q (int): width of the query input ``x_q``.
        dim_kv (int): width of the key/value input ``x_kv``.
        dim_out (int): output width; must be divisible by ``num_heads``.
        num_heads (int): number of heads. Defaults to 4.
        ln (bool): apply the two LayerNorms. Defaults to True.
        scale (str): ``'full'`` (divide scores by ``sqrt(dim_out)``, as the reference) or
            ``'head'`` (divide by ``sqrt(dim_out // num_heads)``). Defaults to ``'full'``.
    """

    def __init__(self,
                 dim_q: int,
                 dim_kv: int,
                 dim_out: int,
                 num_heads: int = 4,
                 ln: bool = True,
                 scale: str = 'full') -> None:
        super().__init__()
        if num_heads <= 0 or dim_out % num_heads != 0:
            raise ValueError(f'dim_out ({dim_out}) must be a positive multiple of num_heads '
                             f'({num_heads})')
        if scale not in ('full', 'head'):
            raise ValueError(f"scale must be 'full' or 'head', got {scale!r}")
        self.dim_out = dim_out
        self.num_heads = num_heads
        self.head_dims = dim_out // num_heads
        self.scale = scale
        self.scale_factor = 1.0 / math.sqrt(dim_out if scale == 'full' else self.head_dims)
        self.fc_q = nn.Linear(dim_q, dim_out)
        self.fc_k = nn.Linear(dim_kv, dim_out)
        self.fc_v = nn.Linear(dim_kv, dim_out)
        self.fc_o = nn.Linear(dim_out, dim_out)
        self.ln0 = nn.LayerNorm(dim_out) if ln else nn.Identity()
        self.ln1 = nn.LayerNorm(dim_out) if ln else nn.Identity()

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """``B x N x dim_out`` -> ``B x heads x N x head_dims`` (contiguous channel chunks)."""
        b, n, _ = x.shape
        return x.view(b, n, self.num_heads, self.head_dims).transpose(1, 2)

    def forward(self, x_q: torch.Tensor,
                x_kv: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Attend from ``x_q`` to ``x_kv``.

        Args:
            x_q (Tensor): queries, ``B x Nq x dim_q``.
            x_kv (Tensor): keys/values, ``B x Nk x dim_kv``.

        Returns:
            tuple[Tensor, Tensor]: output ``B x Nq x dim_out`` and attention weights
            ``B x heads x Nq x Nk`` (rows sum to 1).
        """
        q = self.fc_q(x_q)
        k = self._split_heads(self.fc_k(x_kv))
        v = self._split_heads(self.fc_v(x_kv))
        qh = self._split_heads(q)
        attn = torch.softmax(qh @ k.transpose(-2, -1) * self.scale_factor, dim=-1)
        heads = (attn @ v).transpose(1, 2).reshape(q.shape)  # B x Nq x dim_out
        out = self.ln0(q + heads)
        out = self.ln1(out + torch.relu(self.fc_o(out)))
        return out, attn


@MODELS.register_module()
class LabelWiseAttentionNeck(BaseModule):
    """MulCon label-wise attention block: feature map -> one embedding per label.

    Pipeline (Dao et al., arXiv 2107.11626, Sec. 3; ``docs/algorithms/mulcon.md``):

    1. tokens ``X``: the last backbone map ``B x C x H x W`` flattened to ``B x HW x C``;
    2. ``num_token_layers`` self-attention blocks over the tokens (``C -> token_dims``);
    3. one cross-attention block with ``L`` learned label queries ``U`` (``L x E``) as queries
       and the tokens as keys/values (``-> E``);
    4. one self-attention block over the ``L`` label vectors (label interactions).

    The output is ``(B x L x E,)``; the last cross-attention map (``B x heads x L x HW``) is kept
    on ``self.last_attention`` (detached) for inspection.

    Initialisation follows the reference: Linear weights normal(0, 0.02) with zero bias (the
    default ``init_cfg``), LayerNorm default, and ``U`` Xavier-uniform, set in ``__init__``.
    ``U`` is a bare parameter, not a layer, so layer-based ``init_cfg`` rules
    (``layer='Linear'`` etc.) and ``init_weights()`` leave it untouched.

    Args:
        in_channels (int): backbone channels ``C``. Defaults to 2048.
        num_classes (int): number of labels ``L``. Defaults to 80.
        embed_dims (int): label embedding width ``E``. Defaults to 1024.
        num_heads (int): heads of every block. Defaults to 4.
        num_token_layers (int): self-attention blocks over the tokens. Defaults to 2.
        token_dims (int, optional): token width after those blocks; ``None`` keeps
            ``in_channels``.
        scale (str): attention scaling, ``'full'`` (reference, ``sqrt(width)``) or ``'head'``
            (textbook, ``sqrt(width // heads)``). See :class:`MultiheadAttentionBlock`.
        ln (bool): use LayerNorm in the blocks. Defaults to True.
        init_cfg (dict | list[dict], optional): initialisation config; ``None`` means
            ``dict(type='Normal', layer='Linear', std=0.02, bias=0.)`` (the reference's init).
    """

    def __init__(self,
                 in_channels: int = 2048,
                 num_classes: int = 80,
                 embed_dims: int = 1024,
                 num_heads: int = 4,
                 num_token_layers: int = 2,
                 token_dims: Optional[int] = None,
                 scale: str = 'full',
                 ln: bool = True,
                 init_cfg: Optional[Union[dict, Sequence[dict]]] = None) -> None:
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Linear', std=0.02, bias=0.)
        super().__init__(init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        if num_token_layers < 0:
            raise ValueError(f'num_token_layers must be >= 0, got {num_token_layers}')
        token_dims = in_channels if token_dims is None else token_dims
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.token_dims = token_dims

        token_layers = []
        dim = in_channels
        for _ in range(num_token_layers):
            token_layers.append(
                MultiheadAttentionBlock(dim, dim, token_dims, num_heads, ln=ln, scale=scale))
            dim = token_dims
        self.token_layers = nn.ModuleList(token_layers)
        self.cross_attn = MultiheadAttentionBlock(
            embed_dims, dim, embed_dims, num_heads, ln=ln, scale=scale)
        self.label_attn = MultiheadAttentionBlock(
            embed_dims, embed_dims, embed_dims, num_heads, ln=ln, scale=scale)
        self.label_queries = nn.Parameter(torch.empty(num_classes, embed_dims))
        nn.init.xavier_uniform_(self.label_queries)
        self.last_attention: Optional[torch.Tensor] = None

    def forward(self, inputs: Union[torch.Tensor, Sequence[torch.Tensor]]
                ) -> Tuple[torch.Tensor]:
        """Compute the label embeddings.

        Args:
            inputs (tuple[Tensor] | Tensor): backbone outputs; the last one is ``B x C x H x W``
                (a ``B x N x C`` token tensor is accepted as well).

        Returns:
            tuple[Tensor]: ``(B x L x E,)`` label embeddings.
        """
        feat = inputs[-1] if isinstance(inputs, (tuple, list)) else inputs
        if feat.dim() == 4:
            tokens = feat.flatten(2).transpose(1, 2)  # B x HW x C
        elif feat.dim() == 3:
            tokens = feat
        else:
            raise ValueError('LabelWiseAttentionNeck expects a B x C x H x W map or B x N x C '
                             f'tokens, got shape {tuple(feat.shape)}')
        if tokens.size(-1) != self.in_channels:
            raise ValueError(f'LabelWiseAttentionNeck got {tokens.size(-1)} channels, '
                             f'expected in_channels={self.in_channels}')
        for layer in self.token_layers:
            tokens, _ = layer(tokens, tokens)
        queries = self.label_queries.unsqueeze(0).expand(tokens.size(0), -1, -1)
        labels, attn = self.cross_attn(queries, tokens)
        self.last_attention = attn.detach()
        labels, _ = self.label_attn(labels, labels)
        return (labels, )
