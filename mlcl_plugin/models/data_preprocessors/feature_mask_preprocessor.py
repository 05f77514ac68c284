# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Batched two-view feature masking for vector data (MulSupCon's vector-track augmentation)."""
import numbers
from typing import Optional

import torch
from mmpretrain.models.utils.data_preprocessor import SelfSupDataPreprocessor
from mmpretrain.registry import MODELS


@MODELS.register_module()
class FeatureMaskDataPreprocessor(SelfSupDataPreprocessor):
    """Make ``num_views`` views of a ``B x F`` vector batch, each feature zeroed independently
    with probability ``mask_prob`` in every view.

    The same augmentation as ``MultiView(num_views, [[RandomFeatureMask(prob)]])`` in the data
    pipeline (MulSupCon's vector track: after standardisation every feature is zeroed with
    probability p, independently for the two views), drawn once per batch on tensors instead of
    once per sample; the pipeline then only needs ``PackInputs``. Either form can be used:
    ``tools/benchmarks/benchmark_vector_pretrain_step.py`` compares their step times.

    The masks come from torch's global generator, which mmengine seeds through
    ``randomness=dict(seed=...)``; with several processes set ``diff_rank_seed=True`` there
    to give every rank its own masks.

    Args:
        mask_prob (float): Probability of zeroing each feature, in ``[0, 1)``. Defaults to
            0.5.
        num_views (int): Number of views made in training mode. Defaults to 2.
        mask_in_eval (bool): Also mask (and make views) when ``training=False``; by default
            evaluation/feature extraction gets the plain ``B x F`` batch. Defaults to False.
        **kwargs: Passed to ``SelfSupDataPreprocessor`` (e.g. ``non_blocking``). ``mean`` /
            ``std`` are rejected: they are per-channel image statistics; vectors are
            standardised by the dataset (``MulanDataset(standardize=True)``).

    Returns (of ``forward``): ``dict(inputs=[B x F] * num_views, data_samples=...)`` in
    training mode (a list of views as every mmpretrain self-supervised algorithm expects),
    ``dict(inputs=B x F, ...)`` otherwise. An input that already is a list of views (a
    ``MultiView`` pipeline) is masked view by view.
    """

    def __init__(self,
                 mask_prob: float = 0.5,
                 num_views: int = 2,
                 mask_in_eval: bool = False,
                 **kwargs) -> None:
        if (isinstance(mask_prob, bool) or not isinstance(mask_prob, numbers.Real)
                or not 0.0 <= mask_prob < 1.0):
            raise ValueError(f'FeatureMaskDataPreprocessor: mask_prob must be a number in '
                             f'[0, 1), got {mask_prob!r}')
        if isinstance(num_views, bool) or not isinstance(num_views, int) or num_views < 1:
            raise ValueError(f'FeatureMaskDataPreprocessor: num_views must be a positive int, '
                             f'got {num_views!r}')
        bad = [k for k in ('mean', 'std', 'to_rgb', 'bgr_to_rgb', 'rgb_to_bgr') if kwargs.get(k)]
        if bad:
            raise ValueError(f'FeatureMaskDataPreprocessor: {bad} apply to images; vectors are '
                             'standardised by the dataset (MulanDataset(standardize=True))')
        super().__init__(**kwargs)
        self.mask_prob = float(mask_prob)
        self.num_views = num_views
        self.mask_in_eval = mask_in_eval

    def _mask(self, x: torch.Tensor) -> torch.Tensor:
        if self.mask_prob == 0:
            return x
        keep = torch.rand(x.shape, device=x.device) >= self.mask_prob  # B x F
        return x * keep

    def forward(self, data: dict, training: bool = False) -> dict:
        """Cast, optionally normalise, and mask the batch.

        Args:
            data (dict): ``inputs`` (``B x F`` tensor, or a list of such views) and
                ``data_samples`` from ``default_collate``.
            training (bool): Make the masked views.

        Returns:
            dict: ``inputs`` and ``data_samples`` (see the class docstring).
        """
        samples = data.get('data_samples')
        if self._device.type == 'cpu':
            # The dataloader already left the samples on the host: mmengine's cast_data would
            # walk every DataSample field for no effect, a visible share of the small vector
            # pretraining step (tools/benchmarks/benchmark_vector_pretrain_step.py).
            data = super().forward({'inputs': data['inputs'], 'data_samples': None}, training)
            data['data_samples'] = samples
        else:
            data = super().forward(data, training)
        inputs = data['inputs']
        first = inputs[0] if isinstance(inputs, list) else inputs
        if first.dim() != 2:
            raise ValueError('FeatureMaskDataPreprocessor expects B x F feature vectors, got '
                             f'inputs of shape {tuple(first.shape)}')
        if not (training or self.mask_in_eval):
            return data
        if isinstance(inputs, list):
            views = [self._mask(v) for v in inputs]
        else:
            views = [self._mask(inputs) for _ in range(self.num_views)]
        return {'inputs': views, 'data_samples': data['data_samples']}

    def extra_repr(self) -> Optional[str]:
        return f'mask_prob={self.mask_prob}, num_views={self.num_views}'
