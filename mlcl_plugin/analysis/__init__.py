# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Analysis and figures of trained checkpoints and their logs (the tools under
``tools/analysis_tools/`` and ``tools/visualization/``; see ``docs/visualization.md``).

Not imported by ``import mlcl_plugin``; matplotlib is imported only when a figure is drawn
(:mod:`.plots`, Agg backend).
"""
from .block_preview import BlockPreview, find_block_wise_aug, preview_blocks
from .class_embedding import (
    DEFAULT_TAU,
    ClassEmbeddings,
    ClassSimilarity,
    class_embeddings,
    class_similarity,
    mean_diagonal_mass,
    similarity_softmax,
)
from .cooccurrence import CooccurrenceResult, cooccurrence_counts, label_cooccurrence
from .embedding_map import chance_agreement, neighbour_agreement, project_2d
from .embeddings import Extraction, extract
from .loading import build_dataset, build_model, dataset_config, load_config
from .per_class_ap import ap_difference_order, load_scores, per_class_ap
from .run_figures import write_run_figures
from .runs import extract_runs, scores_of_runs
from .scalar_logs import RunLog, find_scalar_logs, load_run_log

__all__ = [
    'BlockPreview', 'ClassEmbeddings', 'ClassSimilarity', 'CooccurrenceResult', 'DEFAULT_TAU',
    'Extraction', 'RunLog', 'ap_difference_order', 'build_dataset', 'build_model',
    'chance_agreement', 'class_embeddings', 'class_similarity', 'cooccurrence_counts',
    'dataset_config', 'extract', 'extract_runs', 'find_block_wise_aug', 'find_scalar_logs',
    'label_cooccurrence', 'load_config', 'load_run_log', 'load_scores', 'mean_diagonal_mass',
    'neighbour_agreement', 'per_class_ap', 'preview_blocks', 'project_2d', 'scores_of_runs',
    'similarity_softmax', 'write_run_figures'
]
