# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Benchmark MulCon's label-level part: batched (ours) vs. a loop-over-classes formulation.

One forward+backward of everything after the backbone in a MulCon stage-2 step
(Dao et al., arXiv 2107.11626; docs/algorithms/mulcon.md): label-wise attention neck on a
``B x C x H x W`` C5 map, the ``L`` per-label classifiers with mean BCE, the projector and the
label-level SupCon loss (tau 0.2, weight 0.5) over the present labels.

* ``batched``: :class:`LabelWiseAttentionNeck` -> :class:`LabelWiseLinearClsHead`'s one
  batched product -> BCE over ``B x L`` at once -> projector on all ``B x L`` embeddings ->
  :class:`LabelContrastiveLoss` (presence masks, no host sync).
* ``loop``: the same neck, then the reference code's formulation
  (docs/algorithms/mulcon.md; written here from a description of it): ``L`` separate
  ``nn.Linear(E, 1)`` classifiers called in a Python loop, ``L`` BCE terms in a loop, the
  present-label list built by a double Python loop over (sample, class) testing each label on the
  host, then projector and a SupCon ``L_out`` on the ``M`` gathered embeddings.

Both use the same weights; the script checks that the two losses agree before timing. Two
timings: ``full`` (neck + heads + loss, the issue's measure) and ``heads+loss`` (embeddings
given, i.e. only the part where the two formulations differ). Repetitions of the two methods
are interleaved (alternating order) and medians are reported, with the ratio loop / batched.

Example::

    python tools/benchmarks/benchmark_mulcon_heads.py --batch 8 --classes 80 --tokens 14 \
        --in-channels 2048 --embed-dims 1024 --repeats 7 --threads 2
"""
import argparse
import os.path as osp
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    from mlcl_plugin.models.heads.label_wise_cls_head import LabelWiseLinearClsHead
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    from mlcl_plugin.models.heads.label_wise_cls_head import LabelWiseLinearClsHead
from mlcl_plugin.models.classifiers.mulcon import LabelProjector
from mlcl_plugin.models.losses.label_contrastive_loss import LabelContrastiveLoss
from mlcl_plugin.models.necks.label_wise_attention import LabelWiseAttentionNeck


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=8,
                        help='feature maps per step (views: B/2 images x 2 views)')
    parser.add_argument('--classes', type=int, default=80)
    parser.add_argument('--tokens', type=int, default=14, help='C5 map is tokens x tokens')
    parser.add_argument('--in-channels', type=int, default=2048, help='ResNet-101 C5: 2048')
    parser.add_argument('--embed-dims', type=int, default=1024)
    parser.add_argument('--proj-dims', type=int, default=128)
    parser.add_argument('--mean-labels', type=float, default=2.9,
                        help='average present labels per image (COCO ~2.9)')
    parser.add_argument('--repeats', type=int, default=7, help='timed repetitions (full)')
    parser.add_argument('--head-repeats', type=int, default=30,
                        help='timed repetitions (heads+loss)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


class Batched(nn.Module):
    """Ours: batched head, batched BCE, projector on all entries, masked contrastive loss."""

    def __init__(self, neck, head, projector, tau=0.2, weight=0.5):
        super().__init__()
        self.neck, self.head, self.projector = neck, head, projector
        self.con = LabelContrastiveLoss(temperature=tau)
        self.weight = weight

    def heads_loss(self, emb, labels):
        logits = self.head((emb, ))  # B x L
        bce = F.binary_cross_entropy_with_logits(logits, labels)
        z = F.normalize(self.projector(emb), dim=-1)  # B x L x D
        return bce + self.weight * self.con.in_batch(z, labels)

    def forward(self, feat, labels):
        return self.heads_loss(self.neck((feat, ))[0], labels)


class Loop(nn.Module):
    """Loop-over-classes formulation with the same weights (written from a description)."""

    def __init__(self, neck, head, projector, tau=0.2, weight=0.5):
        super().__init__()
        self.neck, self.projector = neck, projector
        num_classes, dims = head.weight.shape
        self.classifiers = nn.ModuleList(nn.Linear(dims, 1) for _ in range(num_classes))
        with torch.no_grad():
            for idx, fc in enumerate(self.classifiers):
                fc.weight.copy_(head.weight[idx:idx + 1])
                fc.bias.copy_(head.bias[idx:idx + 1])
        self.tau, self.weight = tau, weight

    def supcon(self, z, cls):
        """SupCon L_out on M rows: positives = same class, anchors without one add 0."""
        m = z.shape[0]
        logits = z @ z.t() / self.tau
        logits = logits - logits.max(dim=1, keepdim=True)[0].detach()
        not_self = 1 - torch.eye(m)
        pos = (cls[:, None] == cls[None, :]).float() * not_self
        exp = torch.exp(logits) * not_self
        log_prob = logits - torch.log(exp.sum(1, keepdim=True))
        per_anchor = (pos * log_prob).sum(1) / pos.sum(1).clamp_min(1)
        return -per_anchor.sum() / m

    def heads_loss(self, emb, labels):
        num_classes = len(self.classifiers)
        logits = [fc(emb[:, idx]) for idx, fc in enumerate(self.classifiers)]  # L x (B x 1)
        bce = sum(F.binary_cross_entropy_with_logits(logits[idx][:, 0], labels[:, idx])
                  for idx in range(num_classes)) / num_classes
        feats, cls = [], []
        for n in range(labels.shape[0]):
            for idx in range(num_classes):
                if labels[n, idx] == 1:  # a host sync per (sample, class), as the reference
                    feats.append(emb[n, idx])
                    cls.append(idx)
        z = F.normalize(self.projector(torch.stack(feats)), dim=-1)  # M x D
        return bce + self.weight * self.supcon(z, torch.tensor(cls))

    def forward(self, feat, labels):
        return self.heads_loss(self.neck((feat, ))[0], labels)


def make_labels(args, gen):
    images = args.batch // 2
    prob = min(args.mean_labels / args.classes, 1.0)
    labels = (torch.rand(images, args.classes, generator=gen) < prob).float()
    labels[:, 0] = torch.maximum(labels[:, 0], (labels.sum(1) == 0).float())  # >= 1 label
    return labels.repeat(2, 1)  # two views, labels duplicated


def step(model, inputs, labels, heads_only):
    model.zero_grad(set_to_none=True)
    if heads_only:
        inputs.grad = None
        loss = model.heads_loss(inputs, labels)
    else:
        loss = model(inputs, labels)
    loss.backward()
    return loss.detach()


def timed(models, inputs, labels, repeats, heads_only):
    times = {name: [] for name in models}
    names = list(models)
    for rep in range(repeats + 1):  # the first round is a warm-up
        order = names if rep % 2 == 0 else names[::-1]
        for name in order:
            start = time.perf_counter()
            step(models[name], inputs, labels, heads_only)
            if rep:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    args = parse_args()
    if args.batch % 2:
        raise SystemExit('--batch counts views (2 per image) and must be even')
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    # PyTorch's default init (init_weights() only changes values, not the cost, and logs a lot)
    neck = LabelWiseAttentionNeck(in_channels=args.in_channels, num_classes=args.classes,
                                  embed_dims=args.embed_dims)
    head = LabelWiseLinearClsHead(num_classes=args.classes, in_channels=args.embed_dims)
    projector = LabelProjector(args.embed_dims, args.embed_dims, args.proj_dims)
    models = {'batched': Batched(neck, head, projector), 'loop': Loop(neck, head, projector)}
    feat = torch.randn(args.batch, args.in_channels, args.tokens, args.tokens, generator=gen)
    labels = make_labels(args, gen)
    emb = torch.randn(args.batch, args.classes, args.embed_dims, generator=gen)
    emb = F.layer_norm(emb, emb.shape[-1:]).requires_grad_()

    losses = {name: step(m, feat, labels, False) for name, m in models.items()}
    torch.testing.assert_close(losses['batched'], losses['loop'], rtol=1e-4, atol=1e-5)
    print(f'B={args.batch} feature maps ({args.batch // 2} images x 2 views), L={args.classes}, '
          f'{args.tokens}x{args.tokens} tokens, C={args.in_channels}, E={args.embed_dims}, '
          f'D={args.proj_dims}, present labels M={int(labels.sum())}, '
          f'threads={torch.get_num_threads()}, torch {torch.__version__}')
    print(f'losses agree: batched {losses["batched"]:.6f} loop {losses["loop"]:.6f}')
    for title, inputs, heads_only, repeats in (
            ('full: neck + heads + loss', feat, False, args.repeats),
            ('heads + loss (embeddings given)', emb, True, args.head_repeats)):
        med = timed(models, inputs, labels, repeats, heads_only)
        print(f'{title}: median of {repeats} interleaved fwd+bwd: batched '
              f'{med["batched"] * 1e3:.1f} ms, loop {med["loop"] * 1e3:.1f} ms, '
              f'ratio loop/batched {med["loop"] / med["batched"]:.2f}x')


if __name__ == '__main__':
    main()
