# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Class embeddings, their softmax similarity and the mean diagonal mass, against loops."""
import math

import numpy as np
import pytest

from mlcl_plugin.analysis.class_embedding import (
    class_embeddings,
    class_similarity,
    mean_diagonal_mass,
    similarity_softmax,
)


def _reference(emb, targets, tau, center=False):
    """Plain-Python class embeddings (single-label mean, else label-weighted mean)."""
    n, c = targets.shape
    rows = [list(map(float, e)) for e in emb]
    if center:
        mean = [sum(r[d] for r in rows) / n for d in range(len(rows[0]))]
        rows = [[r[d] - mean[d] for d in range(len(r))] for r in rows]
    rows = [[v / max(math.sqrt(sum(x * x for x in r)), 1e-12) for v in r] for r in rows]
    class_emb, fallback, present = [], [], []
    for k in range(c):
        single = [i for i in range(n) if targets[i].sum() == 1 and targets[i, k] == 1]
        carrying = [i for i in range(n) if targets[i, k] == 1]
        present.append(bool(carrying))
        if not carrying:
            class_emb.append(None)
            fallback.append(False)
            continue
        if single:
            weights = dict.fromkeys(single, 1.0)
        else:
            weights = {i: 1.0 / targets[i].sum() for i in carrying}
        fallback.append(not single)
        total = sum(weights.values())
        class_emb.append([sum(w * rows[i][d] for i, w in weights.items()) / total
                          for d in range(len(rows[0]))])
    kept = [k for k in range(c) if present[k]]
    probs = []
    for i in kept:
        ei = class_emb[i]
        sims = []
        for j in kept:
            ej = class_emb[j]
            cos = sum(a * b for a, b in zip(ei, ej)) / (
                math.sqrt(sum(a * a for a in ei)) * math.sqrt(sum(b * b for b in ej)))
            sims.append(cos / tau)
        top = max(sims)
        exps = [math.exp(s - top) for s in sims]
        probs.append([e / sum(exps) for e in exps])
    mdm = sum(probs[r][r] for r in range(len(kept))) / len(kept)
    return class_emb, fallback, present, kept, np.array(probs), mdm


@pytest.mark.parametrize('center', [False, True])
def test_class_similarity_matches_loop_reference_with_fallback(center):
    rng = np.random.default_rng(0)
    n, c, d = 30, 6, 5
    targets = (rng.random((n, c)) < 0.35).astype(np.int64)
    targets[:, 3] = 0  # class 3 absent
    targets[:4] = 0
    targets[0, 0] = targets[1, 0] = 1  # class 0 occurs alone twice
    targets[2, 1] = 1  # class 1 occurs alone once
    # class 2 never alone: every sample with class 2 carries class 5 too
    targets[targets[:, 2] == 1, 5] = 1
    emb = rng.normal(size=(n, d))
    ref_emb, ref_fb, ref_present, kept, ref_probs, ref_mdm = _reference(emb, targets, 0.3,
                                                                        center)

    ce = class_embeddings(emb, targets, center=center)
    assert ce.present.tolist() == ref_present
    assert ce.fallback.tolist() == ref_fb
    assert ce.fallback[2]
    assert not ce.fallback[0]
    assert not ce.fallback[1]
    assert np.isnan(ce.embeddings[3]).all()
    for k in kept:
        np.testing.assert_allclose(ce.embeddings[k], ref_emb[k], rtol=1e-10, atol=1e-12)
    single = [sum(1 for i in range(n) if targets[i].sum() == 1 and targets[i, k] == 1)
              for k in range(c)]
    assert ce.num_single.tolist() == single
    assert ce.num_single[0] >= 2
    assert ce.num_single[2] == 0

    sim = class_similarity(emb, targets, tau=0.3, center=center)
    assert sim.class_idx.tolist() == kept
    np.testing.assert_allclose(sim.probs, ref_probs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sim.probs.sum(axis=1), 1.0)
    assert sim.mean_diagonal_mass == pytest.approx(ref_mdm, rel=1e-10)
    assert sim.fallback.tolist() == [ref_fb[k] for k in kept]


def test_mean_diagonal_mass_bounds():
    eye = np.eye(4)
    assert mean_diagonal_mass(similarity_softmax(eye, tau=1e-3)) == pytest.approx(1.0)
    same = np.ones((4, 3))
    assert mean_diagonal_mass(similarity_softmax(same)) == pytest.approx(0.25)


def test_bad_inputs_are_named():
    emb = np.zeros((3, 2))
    with pytest.raises(ValueError, match='not finite'):
        class_embeddings(np.array([[np.nan, 0.0], [1, 0], [0, 1]]), np.eye(3, dtype=int)[:, :2])
    with pytest.raises(ValueError, match='multi-hot'):
        class_embeddings(emb, np.full((3, 2), 2))
    with pytest.raises(ValueError, match='tau'):
        similarity_softmax(np.eye(2), tau=0)
    with pytest.raises(ValueError, match='class 1 has no sample'):
        class_similarity(np.eye(3), np.array([[1, 0], [1, 0], [1, 0]]), classes=[0, 1])
