# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Small batch-independent encoders for exact MultiLabelMoCo checks (no BN, no dropout)."""
import torch
import torch.nn as nn
from mmpretrain.structures import DataSample

from mlcl_plugin.models import MultiLabelMoCo


class TinyBackbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)

    def forward(self, x):
        return (torch.relu(self.conv(x)), )


class TinyNeck(nn.Module):
    def __init__(self, dim=5):
        super().__init__()
        self.fc = nn.Linear(6, dim)

    def forward(self, x):
        return (self.fc(x[-1].mean(dim=(2, 3))), )


def build_moco(queue_len=16, num_classes=4, queue_mode='always', seed=0, **head):
    torch.manual_seed(seed)
    return MultiLabelMoCo(
        backbone=TinyBackbone(), neck=TinyNeck(),
        head=dict(type='MulSupConHead', temperature=0.2, **head),
        num_classes=num_classes, queue_len=queue_len, feat_dim=5, momentum=0.1,
        queue_mode=queue_mode)


def make_batch(step, size, num_classes=4, seed=100):
    g = torch.Generator().manual_seed(seed + step)
    views = [torch.randn(size, 3, 6, 6, generator=g) for _ in range(2)]
    labels = torch.rand(size, num_classes, generator=g) < 0.4
    labels[0] = False  # one sample without any label
    samples = [DataSample().set_gt_label(torch.nonzero(row).flatten().tolist())
               for row in labels]
    return views, samples
