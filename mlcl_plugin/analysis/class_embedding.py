# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Class embeddings and their softmax-of-cosine similarity (MulSupCon, AAAI-24, Figure 3).

A class embedding is the mean of the (L2-normalised) embeddings of the samples that carry
that class **alone**. Multi-label sets can have classes that never occur alone (PETA has
about 8 attributes per image): such a class falls back to the label-weighted mean over all
samples carrying it, each sample weighted ``1 / (its number of labels)`` (a single-label
sample counts fully, a sample with 8 labels counts 1/8); the fallback classes are reported so
that a figure can mark them. A class that no sample carries has no embedding and is left out.

Row ``i`` of the similarity matrix is the softmax over classes ``j`` of
``cos(e_i, e_j) / tau``. The mean diagonal mass ``mean_i P[i, i]`` summarises it: 1 means
every class embedding is far closer to itself than to any other class (well separated
classes), ``1 / K`` (K classes) means the classes are indistinguishable. The temperature
``tau`` only sets the contrast; compare checkpoints at the same ``tau``. The default 0.1 is
MulSupCon's training temperature.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.special import softmax

DEFAULT_TAU = 0.1
_EPS = 1e-12


@dataclass
class ClassEmbeddings:
    """Class embeddings of one model on one dataset.

    Attributes:
        embeddings (np.ndarray): ``C x D`` float64; NaN rows for classes without samples.
        num_single (np.ndarray): ``C`` int64, single-label samples of each class.
        num_samples (np.ndarray): ``C`` int64, samples carrying each class.
        fallback (np.ndarray): ``C`` bool, the class never occurs alone: its embedding is the
            label-weighted mean.
        present (np.ndarray): ``C`` bool, the class has at least one sample.
    """

    embeddings: np.ndarray
    num_single: np.ndarray
    num_samples: np.ndarray
    fallback: np.ndarray
    present: np.ndarray


@dataclass
class ClassSimilarity:
    """The softmax-of-cosine similarity of the present classes.

    Attributes:
        probs (np.ndarray): ``K x K``, row ``i`` = softmax over ``j`` of
            ``cos(e_i, e_j) / tau``, for the K present classes.
        class_idx (np.ndarray): ``K`` int64, the dataset class of each row / column.
        fallback (np.ndarray): ``K`` bool, rows built with the label-weighted fallback.
        num_single (np.ndarray): ``K`` int64, single-label samples of each row's class.
        tau (float): the temperature.
        mean_diagonal_mass (float): ``mean_i probs[i, i]``.
        center (bool): the embeddings were centered first.
    """

    probs: np.ndarray
    class_idx: np.ndarray
    fallback: np.ndarray
    num_single: np.ndarray
    tau: float
    mean_diagonal_mass: float
    center: bool = False


def _check(embeddings: np.ndarray, targets: np.ndarray):
    embeddings = np.asarray(embeddings, dtype=np.float64)
    targets = np.asarray(targets)
    if embeddings.ndim != 2 or targets.ndim != 2 or len(embeddings) != len(targets):
        raise ValueError(f'need embeddings N x D and targets N x C with the same N, got '
                         f'{embeddings.shape} and {targets.shape}')
    if not np.isfinite(embeddings).all():
        raise ValueError(f'{int((~np.isfinite(embeddings).all(1)).sum())} embeddings are not '
                         'finite')
    if not np.isin(targets, (0, 1)).all():
        raise ValueError('targets must be multi-hot 0/1, got the value '
                         f'{targets[~np.isin(targets, (0, 1))][0]!r}')
    return embeddings, targets.astype(np.float64)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero).

    Args:
        x (np.ndarray): ``N x D``.

    Returns:
        np.ndarray: ``N x D``.
    """
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), _EPS)


def class_embeddings(embeddings: np.ndarray,
                     targets: np.ndarray,
                     normalize: bool = True,
                     center: bool = False) -> ClassEmbeddings:
    """Mean embedding of the single-label samples of each class, with the fallback.

    Args:
        embeddings (np.ndarray): ``N x D`` sample embeddings.
        targets (np.ndarray): ``N x C`` multi-hot labels.
        normalize (bool): L2-normalise each sample before averaging (each sample counts as a
            direction, as contrastive losses see it). Defaults to True.
        center (bool): subtract the mean embedding of the set first (before normalising).
            Backbone features after ReLU and pooling are all non-negative, so their cosines
            are all high; centering shows the directions that distinguish the samples.
            Defaults to False (the paper's plain embeddings).

    Returns:
        ClassEmbeddings: ``C x D`` embeddings, counts, fallback and presence masks.
    """
    z, y = _check(embeddings, targets)
    if center:
        z = z - z.mean(axis=0, keepdims=True)
    if normalize:
        z = l2_normalize(z)
    num_labels = y.sum(axis=1, keepdims=True)  # N x 1
    single = y * (num_labels == 1)  # N x C, the single-label samples of each class
    num_single = single.sum(axis=0)  # C
    # label-weighted fallback: a sample with k labels gives 1/k to each of them
    weights = np.divide(y, num_labels, out=np.zeros_like(y), where=num_labels > 0)  # N x C
    use_single = num_single > 0  # C
    w = np.where(use_single[None, :], single, weights)  # N x C
    mass = w.sum(axis=0)  # C
    present = y.sum(axis=0) > 0
    with np.errstate(invalid='ignore', divide='ignore'):
        emb = (w.T @ z) / mass[:, None]  # C x D
    emb[~present] = np.nan
    return ClassEmbeddings(embeddings=emb, num_single=num_single.astype(np.int64),
                           num_samples=y.sum(axis=0).astype(np.int64),
                           fallback=present & ~use_single, present=present)


def similarity_softmax(class_emb: np.ndarray, tau: float = DEFAULT_TAU) -> np.ndarray:
    """Row-wise softmax of the cosine similarities between class embeddings.

    Args:
        class_emb (np.ndarray): ``K x D`` class embeddings (finite).
        tau (float): temperature, > 0. Defaults to 0.1.

    Returns:
        np.ndarray: ``K x K``, row ``i`` = softmax over ``j`` of ``cos(e_i, e_j) / tau``.
    """
    if not tau > 0:
        raise ValueError(f'the temperature tau must be > 0, got {tau!r}')
    e = l2_normalize(np.asarray(class_emb, dtype=np.float64))
    return softmax(e @ e.T / tau, axis=1)


def mean_diagonal_mass(probs: np.ndarray) -> float:
    """Mean over rows of the diagonal entry of a row-stochastic matrix.

    Args:
        probs (np.ndarray): ``K x K``.

    Returns:
        float: ``mean_i probs[i, i]`` (1: diagonal, ``1 / K``: uniform rows).
    """
    return float(np.mean(np.diagonal(probs)))


def class_similarity(embeddings: np.ndarray,
                     targets: np.ndarray,
                     tau: float = DEFAULT_TAU,
                     normalize: bool = True,
                     center: bool = False,
                     classes: Optional[np.ndarray] = None) -> ClassSimilarity:
    """Class embeddings, their similarity softmax and its mean diagonal mass.

    Args:
        embeddings (np.ndarray): ``N x D`` sample embeddings.
        targets (np.ndarray): ``N x C`` multi-hot labels.
        tau (float): softmax temperature. Defaults to 0.1.
        normalize (bool): see :func:`class_embeddings`. Defaults to True.
        center (bool): see :func:`class_embeddings`. Defaults to False.
        classes (np.ndarray, optional): the class indices to keep, in this order (e.g. the
            same order for several checkpoints); defaults to every present class.

    Returns:
        ClassSimilarity: the ``K x K`` matrix over the kept classes and its summary.

    Raises:
        ValueError: a kept class has no sample, or fewer than 2 classes are kept.
    """
    ce = class_embeddings(embeddings, targets, normalize=normalize, center=center)
    idx = np.flatnonzero(ce.present) if classes is None else np.asarray(classes, np.int64)
    if (~ce.present[idx]).any():
        raise ValueError(f'class {int(idx[~ce.present[idx]][0])} has no sample in the set')
    if len(idx) < 2:
        raise ValueError(f'need at least 2 classes with samples, got {len(idx)}')
    probs = similarity_softmax(ce.embeddings[idx], tau)
    return ClassSimilarity(probs=probs, class_idx=idx, fallback=ce.fallback[idx],
                           num_single=ce.num_single[idx], tau=float(tau),
                           mean_diagonal_mass=mean_diagonal_mass(probs), center=center)
