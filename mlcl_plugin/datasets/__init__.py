# Copyright (c) mlcl_plugin authors. All rights reserved.
from . import transforms
from .coco_multilabel import COCOMultiLabel
from .label_files import read_binary_matrix
from .mirflickr import MIRFlickr25k, mirflickr_split_indices
from .mulan import (
    MulanDataset,
    infer_format,
    load_arff,
    load_hdf5,
    load_mulan_xml,
    load_npz,
    load_vectors,
)
from .multi_label_csv import MultiLabelCsvDataset
from .nus_wide import NUSWIDE
from .objects365 import Objects365MultiLabel, objects365_subset_indices
from .splits import val_split_indices
from .toy_shapes import TOY_SHAPES_CLASSES, make_toy_shapes

__all__ = [
    'COCOMultiLabel', 'MIRFlickr25k', 'MulanDataset', 'MultiLabelCsvDataset', 'NUSWIDE',
    'Objects365MultiLabel', 'TOY_SHAPES_CLASSES', 'infer_format', 'load_arff', 'load_hdf5',
    'load_mulan_xml', 'load_npz', 'load_vectors', 'make_toy_shapes', 'mirflickr_split_indices',
    'objects365_subset_indices', 'read_binary_matrix', 'transforms', 'val_split_indices'
]
