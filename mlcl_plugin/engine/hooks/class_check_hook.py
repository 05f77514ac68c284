# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Fail early, with a clear message, when the model's classes disagree with the dataset's."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


def _base_datasets(dataset) -> list:
    """Unwrap mmengine dataset wrappers (Concat / Repeat / ClassBalanced) to base datasets."""
    if hasattr(dataset, 'datasets'):
        return [d for sub in dataset.datasets for d in _base_datasets(sub)]
    if hasattr(dataset, 'dataset') and not hasattr(dataset, 'data_list'):
        return _base_datasets(dataset.dataset)
    return [dataset]


def _model_num_classes(model) -> Optional[int]:
    if is_model_wrapper(model):
        model = model.module
    for owner in (model, getattr(model, 'head', None)):
        value = getattr(owner, 'num_classes', None)
        if isinstance(value, int):
            return value
    return None


@HOOKS.register_module()
class MultiLabelClassCheckHook(Hook):
    """Check ``num_classes`` against every labelled dataset before training/validation/test.

    For each dataset of the loop (wrappers unwrapped) that has ``metainfo['classes']`` and
    ``get_cat_ids``: the model's ``num_classes`` (the algorithm's, else its head's) must equal
    the number of classes, and every label index must lie in ``[0, num_classes)``. Without
    this, mmpretrain's one-hot encoding silently builds targets of the wrong width or drops
    labels. Scanning the labels is a one-off pass over the annotation list (no image is read).

    Args:
        num_classes (int, optional): expected class count; defaults to the model's.
        check_labels (bool): also scan every sample's label indices. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, num_classes: Optional[int] = None, check_labels: bool = True) -> None:
        self.num_classes = num_classes
        self.check_labels = check_labels

    def _check(self, runner, loader_name: str) -> None:
        loader = getattr(runner, loader_name, None)
        if loader is None or not hasattr(loader, 'dataset'):
            return
        expected = self.num_classes or _model_num_classes(runner.model)
        for dataset in _base_datasets(loader.dataset):
            classes = getattr(dataset, 'metainfo', {}).get('classes')
            if classes is None or not hasattr(dataset, 'get_cat_ids'):
                continue
            name = f'{type(dataset).__name__}({getattr(dataset, "ann_file", "")})'
            if expected is not None and len(classes) != expected:
                raise ValueError(
                    f'{loader_name}: {name} has {len(classes)} classes but the model is '
                    f'configured with num_classes={expected}; set num_classes (model and '
                    "head) to the dataset's class count")
            if not self.check_labels:
                continue
            limit = expected if expected is not None else len(classes)
            for idx in range(len(dataset)):
                for cat in dataset.get_cat_ids(idx):
                    if not 0 <= int(cat) < limit:
                        raise ValueError(
                            f'{loader_name}: sample {idx} of {name} has label {int(cat)}, '
                            f'outside [0, {limit}) for its {len(classes)} classes')

    def before_train(self, runner) -> None:
        self._check(runner, 'train_dataloader')

    def before_val(self, runner) -> None:
        self._check(runner, 'val_dataloader')

    def before_test(self, runner) -> None:
        self._check(runner, 'test_dataloader')
