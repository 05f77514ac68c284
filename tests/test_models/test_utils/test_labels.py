# Copyright (c) mlcl_plugin authors. All rights reserved.
"""``multi_hot_from_samples``: dense and sparse forms of the same labels."""
import pytest
import torch
from mmpretrain.structures import DataSample

from mlcl_plugin.models.utils import multi_hot_from_samples


def _samples(label_lists):
    return [DataSample().set_gt_label(torch.tensor(lb, dtype=torch.long)) for lb in label_lists]


def test_sparse_equals_dense_with_repeated_and_missing_labels():
    # a class listed twice counts once; a sample without labels is an empty row
    samples = _samples([[0, 3, 3], [], [4], [1, 2, 0]])
    dense = multi_hot_from_samples(samples, 5)
    expected = torch.zeros(4, 5)
    for row, cls in ((0, 0), (0, 3), (2, 4), (3, 1), (3, 2), (3, 0)):
        expected[row, cls] = 1
    torch.testing.assert_close(dense, expected)
    sparse = multi_hot_from_samples(samples, 5, sparse=True)
    assert sparse.is_sparse
    assert sparse.is_coalesced()
    assert sparse._nnz() == 6
    torch.testing.assert_close(sparse.to_dense(), expected)


def test_sparse_from_scores_keeps_the_values():
    # gt_score stays as given (a soft value is kept, for the queue to refuse with a message)
    scores = torch.tensor([[0., 1., 0.5], [1., 0., 0.]])
    samples = [DataSample().set_gt_score(s) for s in scores]
    sparse = multi_hot_from_samples(samples, 3, sparse=True)
    assert sparse.is_sparse
    torch.testing.assert_close(sparse.to_dense(), scores)


def test_bad_index_is_named_in_both_forms():
    for sparse in (False, True):
        with pytest.raises(ValueError, match='label index 7 is outside'):
            multi_hot_from_samples(_samples([[1], [7]]), 5, sparse=sparse)
