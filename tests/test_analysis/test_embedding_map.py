# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Neighbour agreement against a loop; the t-SNE map is deterministic for a seed."""
import numpy as np
import pytest

from mlcl_plugin.analysis.embedding_map import (
    chance_agreement,
    neighbour_agreement,
    project_2d,
    subsample,
    umap_available,
)


def test_neighbour_agreement_matches_loop_reference():
    rng = np.random.default_rng(3)
    emb = rng.normal(size=(25, 4))
    labels = (rng.random((25, 3)) < 0.4).astype(np.int64)
    k = 4
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    expected = np.zeros(3)
    for i in range(25):
        sims = [(float(unit[i] @ unit[j]), j) for j in range(25) if j != i]
        neighbours = [j for _, j in sorted(sims, reverse=True)[:k]]
        for lab in range(3):
            expected[lab] += sum(labels[j, lab] == labels[i, lab] for j in neighbours) / k
    expected /= 25
    # chunks smaller than N exercise the blockwise path
    np.testing.assert_allclose(neighbour_agreement(emb, labels, k=k, chunk=7), expected)
    p = labels.mean(axis=0)
    np.testing.assert_allclose(chance_agreement(labels), p ** 2 + (1 - p) ** 2)


def test_project_2d_is_seeded_and_checked():
    emb = np.random.default_rng(4).normal(size=(20, 6))
    a = project_2d(emb, seed=1)
    assert a.shape == (20, 2)
    np.testing.assert_allclose(a, project_2d(emb, seed=1))
    with pytest.raises(ValueError, match='at least 3'):
        project_2d(emb[:2])
    with pytest.raises(ValueError, match='method'):
        project_2d(emb, method='pca')
    if not umap_available():
        with pytest.raises(ImportError, match='umap-learn'):
            project_2d(emb, method='umap')
    keep = subsample(100, 10, seed=0)
    assert len(keep) == 10
    assert np.all(np.diff(keep) > 0)
    assert subsample(5, 10).tolist() == [0, 1, 2, 3, 4]
