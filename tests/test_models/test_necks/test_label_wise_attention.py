# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Tests of the MulCon label-wise attention neck and its attention block."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

import mlcl_plugin  # noqa: F401  (registers the modules)
from mlcl_plugin.models.necks import LabelWiseAttentionNeck, MultiheadAttentionBlock

TINY = dict(type='LabelWiseAttentionNeck', in_channels=16, num_classes=6, embed_dims=8,
            num_heads=2, num_token_layers=2)


def loop_reference(mab, x_q, x_kv):
    """The block written out head by head and sample by sample, from the definition."""
    outs, attns = [], []
    d = mab.dim_out if mab.scale == 'full' else mab.dim_out // mab.num_heads
    dh = mab.dim_out // mab.num_heads
    for b in range(x_q.shape[0]):
        q = x_q[b] @ mab.fc_q.weight.T + mab.fc_q.bias
        k = x_kv[b] @ mab.fc_k.weight.T + mab.fc_k.bias
        v = x_kv[b] @ mab.fc_v.weight.T + mab.fc_v.bias
        head_outs, head_attns = [], []
        for h in range(mab.num_heads):
            sl = slice(h * dh, (h + 1) * dh)
            a = torch.softmax(q[:, sl] @ k[:, sl].T / math.sqrt(d), dim=-1)
            head_attns.append(a)
            head_outs.append(a @ v[:, sl])
        o = q + torch.cat(head_outs, dim=-1)
        o = F.layer_norm(o, (mab.dim_out, ), mab.ln0.weight, mab.ln0.bias)
        o = o + torch.relu(o @ mab.fc_o.weight.T + mab.fc_o.bias)
        o = F.layer_norm(o, (mab.dim_out, ), mab.ln1.weight, mab.ln1.bias)
        outs.append(o)
        attns.append(torch.stack(head_attns))
    return torch.stack(outs), torch.stack(attns)


def _randomise_ln(mab):
    with torch.no_grad():
        for ln in (mab.ln0, mab.ln1):
            ln.weight.uniform_(0.5, 1.5)
            ln.bias.normal_()


@pytest.mark.parametrize('scale', ['full', 'head'])
def test_mab_matches_per_head_loop(scale):
    torch.manual_seed(0)
    mab = MultiheadAttentionBlock(5, 7, 12, num_heads=3, scale=scale)
    _randomise_ln(mab)
    x_q, x_kv = torch.randn(2, 4, 5), torch.randn(2, 9, 7)
    out, attn = mab(x_q, x_kv)
    ref_out, ref_attn = loop_reference(mab, x_q, x_kv)
    assert out.shape == (2, 4, 12)
    assert attn.shape == (2, 3, 4, 9)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(attn, ref_attn, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 3, 4))


def test_mab_without_ln_and_bad_args():
    torch.manual_seed(0)
    mab = MultiheadAttentionBlock(4, 4, 8, num_heads=2, ln=False)
    x = torch.randn(3, 5, 4)
    out, _ = mab(x, x)
    q = mab.fc_q(x)
    # no LayerNorm: O = Q + attn, then O + ReLU(fc_o(O))
    _, attn = mab(x, x)
    v = mab.fc_v(x).view(3, 5, 2, 4).transpose(1, 2)
    o = q + (attn @ v).transpose(1, 2).reshape(3, 5, 8)
    torch.testing.assert_close(out, o + torch.relu(mab.fc_o(o)))
    with pytest.raises(ValueError, match='num_heads'):
        MultiheadAttentionBlock(4, 4, 6, num_heads=4)
    with pytest.raises(ValueError, match='scale'):
        MultiheadAttentionBlock(4, 4, 8, num_heads=2, scale='sqrt')


def test_scale_head_differs_from_full():
    torch.manual_seed(0)
    full = MultiheadAttentionBlock(6, 6, 8, num_heads=2, scale='full')
    head = MultiheadAttentionBlock(6, 6, 8, num_heads=2, scale='head')
    head.load_state_dict(full.state_dict())
    x = torch.randn(2, 5, 6) * 3
    out_f, attn_f = full(x, x)
    out_h, attn_h = head(x, x)
    assert not torch.allclose(attn_f, attn_h)
    assert not torch.allclose(out_f, out_h)
    assert full.scale_factor == pytest.approx(1 / math.sqrt(8))
    assert head.scale_factor == pytest.approx(1 / math.sqrt(4))


def test_neck_shapes_and_attention():
    torch.manual_seed(0)
    neck = MODELS.build(TINY)
    assert isinstance(neck, LabelWiseAttentionNeck)
    neck.init_weights()
    x = torch.randn(3, 16, 5, 5)
    out = neck((torch.randn(3, 4, 10, 10), x))
    assert isinstance(out, tuple)
    assert len(out) == 1
    assert out[0].shape == (3, 6, 8)
    assert neck.last_attention.shape == (3, 2, 6, 25)
    torch.testing.assert_close(neck.last_attention.sum(-1), torch.ones(3, 2, 6))
    assert len(neck.token_layers) == 2
    with pytest.raises(ValueError, match='in_channels'):
        neck((torch.randn(3, 15, 5, 5), ))


def test_neck_token_dims_and_no_token_layers():
    neck = MODELS.build(dict(TINY, token_dims=12, scale='head'))
    assert neck.cross_attn.fc_k.in_features == 12
    assert neck(torch.randn(2, 16, 3, 3))[0].shape == (2, 6, 8)
    neck0 = MODELS.build(dict(TINY, num_token_layers=0))
    assert len(neck0.token_layers) == 0
    assert neck0.cross_attn.fc_k.in_features == 16
    assert neck0((torch.randn(2, 16, 3, 3), ))[0].shape == (2, 6, 8)


def test_label_queries_get_gradients():
    torch.manual_seed(0)
    neck = MODELS.build(TINY)
    assert isinstance(neck.label_queries, torch.nn.Parameter)
    assert any(p is neck.label_queries for p in neck.parameters())
    out = neck((torch.randn(2, 16, 5, 5), ))[0]
    out.pow(2).sum().backward()
    grad = neck.label_queries.grad
    assert grad is not None
    assert grad.shape == (6, 8)
    assert grad.abs().sum() > 0


def test_init_weights_keeps_xavier_queries():
    torch.manual_seed(0)
    neck = MODELS.build(dict(TINY, num_classes=200, embed_dims=64, in_channels=32))
    before = neck.label_queries.detach().clone()
    neck.init_weights()
    u = neck.label_queries.detach()
    torch.testing.assert_close(u, before)  # not re-initialised
    xavier_std = math.sqrt(2.0 / (200 + 64))  # bound / sqrt(3) of the uniform
    assert u.std().item() == pytest.approx(xavier_std, rel=0.05)
    assert u.abs().max().item() <= math.sqrt(6.0 / (200 + 64)) + 1e-6
    assert abs(u.std().item() - 0.02) > 0.02
    # Linear layers: normal(0, 0.02), zero bias
    w = torch.cat([m.weight.flatten() for m in neck.modules() if isinstance(m, torch.nn.Linear)])
    assert w.std().item() == pytest.approx(0.02, rel=0.05)
    assert all(m.bias.abs().max() == 0 for m in neck.modules()
               if isinstance(m, torch.nn.Linear))
    # LayerNorm default
    torch.testing.assert_close(neck.cross_attn.ln0.weight.detach(), torch.ones(64))
