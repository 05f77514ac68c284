# Copyright (c) mlcl_plugin authors. All rights reserved.
from . import transforms
from .coco_multilabel import COCOMultiLabel
from .mulan import (
    MulanDataset,
    infer_format,
    load_arff,
    load_hdf5,
    load_mulan_xml,
    load_npz,
    load_vectors,
    val_split_indices,
)
from .multi_label_csv import MultiLabelCsvDataset
from .toy_shapes import TOY_SHAPES_CLASSES, make_toy_shapes

__all__ = [
    'COCOMultiLabel', 'MulanDataset', 'MultiLabelCsvDataset', 'TOY_SHAPES_CLASSES',
    'infer_format', 'load_arff', 'load_hdf5', 'load_mulan_xml', 'load_npz', 'load_vectors',
    'make_toy_shapes', 'transforms', 'val_split_indices'
]
