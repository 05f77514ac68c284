# Copyright (c) mlcl_plugin authors. All rights reserved.
"""tools/examples/lightly_mulsupcon_loop.py: a few steps of the plain PyTorch + Lightly loop
with MulSupConLoss, ImageAwareLoss and the label memory bank on the coco128 photos."""
import math

import pytest

pytest.importorskip('lightly')
from tests.tiny_run import load_tool


def _load_example():
    return load_tool('tools/examples/lightly_mulsupcon_loop.py')


def test_runs_a_few_steps_and_uses_the_bank(coco128, capsys):
    example = _load_example()
    out = example.main(['--data-root', coco128, '--steps', '3', '--batch-size', '8',
                        '--input-size', '32', '--bank-size', '16'])
    assert len(out['losses']) == 3
    assert all(math.isfinite(v) and v > 0 for v in out['losses'])
    assert out['bank_valid'] == 16  # 3 x 8 keys went in: the bank is full
    log = capsys.readouterr().out
    # step 2 is the first one whose reference set holds the 16 bank entries after its 8 keys
    assert 'step 2: loss' in log
    assert 'reference keys 24' in log


def test_dataset_reads_multi_hot_labels(coco128):
    example = _load_example()
    ds = example.CocoMultiLabelImages(coco128, 'annotations/instances_train2017.json',
                                      'train2017', transform=lambda img: img.size)
    assert len(ds) == 128
    assert ds.num_classes == 80
    size, labels, index = ds[0]
    assert index == 0
    assert labels.shape == (80, )
    assert set(labels.unique().tolist()) <= {0., 1.}
    assert ds.labels.sum() > 128  # real multi-label photos: more labels than images
