# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Multi-hot targets from mmpretrain ``DataSample`` lists."""
from typing import List

import torch


def multi_hot_from_samples(data_samples: List, num_classes: int,
                           device=None, sparse: bool = False) -> torch.Tensor:
    """Stack the samples' labels into a ``B x C`` float multi-hot matrix.

    ``gt_score`` (already multi-hot, e.g. from ``ClsDataPreprocessor(to_onehot=True)``) is used
    when every sample has it, otherwise ``gt_label`` (class indices, any number per sample,
    possibly none). Built with one scatter, not a loop over samples.

    Args:
        data_samples (list[DataSample]): the batch.
        num_classes (int): C.
        device: where to put the result; defaults to the labels' device.
        sparse (bool): return a coalesced sparse COO tensor (the same values) built from the
            class indices directly, so that its consumers read the stored labels without a
            pass over ``B x C``. Defaults to False.

    Returns:
        Tensor: ``B x C`` multi-hot, float32, dense or sparse COO. ``gt_score`` is returned
        as given: soft targets (label smoothing, Mixup) stay soft here, and the label queues
        of ``MultiLabelMoCo`` and ``LabelMemoryBank`` reject values other than 0/1 with a
        message naming the sample and the values (a uint8 queue would truncate them to 0).

    Raises:
        ValueError: when a sample has no label field, a ``gt_score`` of the wrong width, or a
            class index outside ``[0, num_classes)`` (checked on the host copy of the labels,
            which is where the dataloader produced them).
    """
    if len(data_samples) == 0:
        raise ValueError('empty batch: no data samples to take labels from')
    if all('gt_score' in s for s in data_samples):
        scores = torch.stack([s.gt_score for s in data_samples]).float()
        if scores.shape[1] != num_classes:
            raise ValueError(f'gt_score has {scores.shape[1]} classes but num_classes is '
                             f'{num_classes}')
        scores = scores.to(device) if device is not None else scores
        return scores.to_sparse() if sparse else scores
    missing = [i for i, s in enumerate(data_samples) if 'gt_label' not in s]
    if missing:
        raise ValueError(
            f'data samples {missing[:5]} have neither gt_label nor gt_score: multi-label '
            'contrastive pretraining needs labelled data (check the dataset and that '
            'PackInputs keeps the labels)')
    labels = [s.gt_label.reshape(-1) for s in data_samples]
    counts = torch.tensor([len(lb) for lb in labels])
    flat = torch.cat(labels).long()
    if flat.numel() and flat.device.type == 'cpu':
        bad = (flat < 0) | (flat >= num_classes)
        if bool(bad.any()):
            raise ValueError(f'label index {int(flat[bad][0])} is outside [0, {num_classes}): '
                             'num_classes disagrees with the dataset')
    rows = torch.repeat_interleave(torch.arange(len(labels)), counts).to(flat.device)
    if sparse:
        # coalescing sums a class listed twice for a sample: its value is set back to 1
        pairs = torch.sparse_coo_tensor(torch.stack([rows, flat]),
                                        torch.ones(len(flat), device=flat.device),
                                        (len(labels), num_classes),
                                        check_invariants=True).coalesce().indices()
        out = torch.sparse_coo_tensor(pairs, torch.ones(pairs.shape[1], device=flat.device),
                                      (len(labels), num_classes), is_coalesced=True,
                                      check_invariants=False)
        return out.to(device) if device is not None else out
    out = torch.zeros(len(labels), num_classes, device=flat.device)
    out[rows, flat] = 1.0
    return out.to(device) if device is not None else out
