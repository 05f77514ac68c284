# Copyright (c) mlcl_plugin authors. All rights reserved.
"""2-D maps of embeddings (t-SNE, or UMAP when installed) and how well a label separates.

t-SNE is scikit-learn's; UMAP is used only when the ``umap`` package (umap-learn) is
importable — it is not a dependency of the plugin.

The summary of a map is the **neighbour agreement** of a label, computed in the embedding
space (not on the 2-D map, which distorts distances): for every sample, the fraction of its
``k`` nearest neighbours (cosine) whose presence / absence of the label equals its own,
averaged over the samples. Compare it with the chance level ``p^2 + (1 - p)^2`` of a label
present in a fraction ``p`` of the samples: the further above chance, the more the label
shapes the neighbourhoods of the embedding.
"""
from typing import Optional

import numpy as np
import torch

METHODS = ('tsne', 'umap')


def umap_available() -> bool:
    """Whether ``import umap`` works (umap-learn installed).

    Returns:
        bool: True when UMAP can be used.
    """
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def subsample(num: int, max_num: Optional[int], seed: int = 0) -> np.ndarray:
    """A seeded sorted subset of ``range(num)`` of at most ``max_num`` indices.

    Args:
        num (int): N.
        max_num (int, optional): the most to keep (None or 0: all).
        seed (int): seed of the draw. Defaults to 0.

    Returns:
        np.ndarray: sorted int64 indices.
    """
    if not max_num or num <= max_num:
        return np.arange(num)
    return np.sort(np.random.default_rng(seed).choice(num, size=max_num, replace=False))


def project_2d(embeddings: np.ndarray, method: str = 'tsne', seed: int = 0,
               perplexity: float = 30.0) -> np.ndarray:
    """Project ``N x D`` embeddings to ``N x 2`` (cosine geometry: rows L2-normalised).

    Args:
        embeddings (np.ndarray): ``N x D``.
        method (str): ``'tsne'`` (scikit-learn) or ``'umap'`` (needs umap-learn).
            Defaults to ``'tsne'``.
        seed (int): random state. Defaults to 0.
        perplexity (float): t-SNE perplexity (clipped below N); for UMAP the number of
            neighbours is ``int(perplexity)``. Defaults to 30.

    Returns:
        np.ndarray: ``N x 2`` float64.

    Raises:
        ImportError: ``method='umap'`` without umap-learn installed.
        ValueError: unknown method, fewer than 3 samples or non-finite embeddings.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f'need at least 3 embeddings N x D, got shape {x.shape}')
    if not np.isfinite(x).all():
        raise ValueError('embeddings contain NaN/inf')
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    if method == 'umap':
        if not umap_available():
            raise ImportError('--method umap needs the umap-learn package (pip install '
                              'umap-learn); it is not a dependency of mlcl_plugin. Use tsne.')
        import umap

        reducer = umap.UMAP(n_components=2, n_neighbors=max(2, min(int(perplexity), len(x) - 1)),
                            random_state=seed)
        return np.asarray(reducer.fit_transform(x), dtype=np.float64)
    from sklearn.manifold import TSNE

    perplexity = float(min(perplexity, (len(x) - 1) / 3))
    tsne = TSNE(n_components=2, perplexity=perplexity, init='pca', random_state=seed,
                learning_rate='auto')
    return np.asarray(tsne.fit_transform(x), dtype=np.float64)


def neighbour_agreement(embeddings: np.ndarray, labels: np.ndarray, k: int = 10,
                        chunk: int = 2048) -> np.ndarray:
    """Per label, the mean fraction of each sample's k nearest neighbours sharing its status.

    Args:
        embeddings (np.ndarray): ``N x D``.
        labels (np.ndarray): ``N x L`` 0/1, the labels to score (presence per sample).
        k (int): neighbours (cosine similarity, the sample itself excluded); clipped to
            ``N - 1``. Defaults to 10.
        chunk (int): rows per similarity block (memory ``chunk x N``). Defaults to 2048.

    Returns:
        np.ndarray: ``L`` float64 in ``[0, 1]``.
    """
    x = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
    y = torch.as_tensor(np.asarray(labels, dtype=np.float32))
    if y.ndim == 1:
        y = y[:, None]
    n = len(x)
    if n < 2 or len(y) != n:
        raise ValueError(f'need at least 2 samples with one label row each, got {n} '
                         f'embeddings and {len(y)} label rows')
    k = max(1, min(int(k), n - 1))
    x = torch.nn.functional.normalize(x, dim=1)
    agree = torch.zeros(y.shape[1], dtype=torch.float64)
    for start in range(0, n, chunk):  # blocks of rows, vectorised inside
        sim = x[start:start + chunk] @ x.T  # b x N
        rows = torch.arange(sim.shape[0])
        sim[rows, rows + start] = -float('inf')  # not its own neighbour
        nn_idx = sim.topk(k, dim=1).indices  # b x k
        same = (y[nn_idx] == y[start:start + chunk, None, :]).double()  # b x k x L
        agree += same.mean(dim=1).sum(dim=0)
    return (agree / n).numpy()


def chance_agreement(labels: np.ndarray) -> np.ndarray:
    """The neighbour agreement of random neighbours: ``p^2 + (1 - p)^2`` per label.

    Args:
        labels (np.ndarray): ``N x L`` 0/1.

    Returns:
        np.ndarray: ``L`` float64.
    """
    p = np.asarray(labels, dtype=np.float64).reshape(len(labels), -1).mean(axis=0)
    return p ** 2 + (1 - p) ** 2
