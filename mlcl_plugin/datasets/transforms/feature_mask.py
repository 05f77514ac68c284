# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Feature masking for 1-D feature vectors (MulSupCon's vector-track augmentation)."""
import numbers
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomFeatureMask(BaseTransform):
    """Zero every feature of a 1-D vector independently with probability ``prob``.

    The augmentation of MulSupCon's vector datasets (e.g. yeast): after standardisation each
    feature is set to 0 independently with probability ``p`` (``p = 0.5`` for pre-training,
    ``p = 0`` for fine-tuning). Put it inside ``MultiView(num_views=2, ...)`` so that each
    view draws its own mask. The mask is drawn with numpy's global generator, so mmengine's
    ``randomness=dict(seed=...)`` makes it reproducible.

    **Required Keys:**

    - ``key`` (default ``img``): a 1-D numeric ``np.ndarray`` of shape ``(F,)``.

    **Modified Keys:**

    - ``key``: the masked vector, a new ``float32`` array (with ``prob=0`` the input itself
      when it is already ``float32``).

    **Added Keys:**

    - None.

    Args:
        prob (float): probability of zeroing each feature, in ``[0, 1)``. ``0`` leaves the
            values unchanged (only cast to ``float32``). Defaults to 0.5.
        key (str): the results key holding the vector. Defaults to ``'img'``.
    """

    def __init__(self, prob: float = 0.5, key: str = 'img') -> None:
        if (isinstance(prob, bool) or not isinstance(prob, numbers.Real)
                or not 0.0 <= prob < 1.0):
            raise ValueError(f'RandomFeatureMask: prob must be a number in [0, 1), got {prob!r}')
        if not isinstance(key, str):
            raise TypeError(f'RandomFeatureMask: key must be a str, got {type(key).__name__}')
        self.prob = float(prob)
        self.key = key

    @cache_randomness
    def random_keep_mask(self, num_features: int) -> np.ndarray:
        """Draw the keep-mask.

        Args:
            num_features (int): length F of the vector.

        Returns:
            np.ndarray: boolean ``(F,)``; ``True`` where the feature is kept.
        """
        # numpy's global generator on purpose, as mmpretrain's transforms: mmengine seeds it
        return np.random.rand(num_features) >= self.prob  # noqa: NPY002

    def _check_input(self, vec) -> np.ndarray:
        if not isinstance(vec, np.ndarray):
            raise TypeError(f'RandomFeatureMask: results[{self.key!r}] must be a numpy array, '
                            f'got {type(vec).__name__}')
        if vec.ndim != 1:
            raise ValueError(f'RandomFeatureMask: results[{self.key!r}] must be a 1-D feature '
                             f'vector of shape (F,), got shape {tuple(vec.shape)}')
        if not (np.issubdtype(vec.dtype, np.number) or vec.dtype == np.bool_):
            raise TypeError(f'RandomFeatureMask: results[{self.key!r}] must be numeric, got '
                            f'dtype {vec.dtype}')
        return vec

    def transform(self, results: dict) -> Optional[dict]:
        """Mask ``results[self.key]``.

        Args:
            results (dict): result dict with a 1-D vector under ``self.key``.

        Returns:
            dict: the same dict, with the masked ``float32`` vector.
        """
        if self.key not in results:
            raise KeyError(f'RandomFeatureMask: key {self.key!r} not in results '
                           f'(keys: {sorted(results)})')
        vec = self._check_input(results[self.key])
        if self.prob == 0:
            # identity: no random draw, no copy unless a cast to float32 is needed
            results[self.key] = vec.astype(np.float32, copy=False)
            return results
        keep = self.random_keep_mask(vec.shape[0])
        # a new array: the caller's vector is never modified in place
        results[self.key] = np.where(keep, vec, 0).astype(np.float32, copy=False)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob}, key={self.key!r})'
