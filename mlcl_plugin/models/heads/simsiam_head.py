# Copyright (c) mlcl_plugin authors. All rights reserved.
"""SimSiam's predictor head with the predictions exposed, for BlockSimSiam."""
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class SimSiamHead(BaseModule):
    """SimSiam's predictor and similarity loss (Chen & He, CVPR 2021, Eq. 1-2), as two calls.

    mmpretrain's ``LatentPredictHead`` runs the predictor inside ``loss(z, target)`` and always
    detaches the target, so an algorithm that also needs the predictions ``p`` for another term
    (``BlockSimSiam``: the image-aware loss on ``[p1; z2]``) or that trains without
    stop-gradient would have to reach into the head. This head splits the two steps, following
    the plugin's head contract (``docs/design/heads_and_losses.md``):

    * ``head(z)`` (``forward``) applies the predictor: ``N x D -> N x D``, like the ``forward``
      of a classification head that returns its logits;
    * ``head.loss(pred, target)`` returns ``dict(loss=loss_module(pred, target))``; the caller
      decides whether ``target`` is detached (SimSiam's stop-gradient).

    The constructor arguments and parameter names (``predictor``, ``loss_module``) are those of
    ``LatentPredictHead``: a stock SimSiam head config builds this head by changing its type,
    checkpoints hold the same entries, and the optimiser rule for ``'predictor'`` parameters
    (``paramwise_cfg``, ``SimSiamHook``) applies unchanged.

    Args:
        loss (dict): similarity loss config, e.g. ``dict(type='CosineSimilarityLoss')``
            (minus the mean cosine similarity).
        predictor (dict): predictor config, a neck such as ``NonLinearNeck``; called as
            ``predictor([z])[0]``.
        init_cfg (dict | list, optional): initialisation config.
    """

    def __init__(self,
                 loss: dict,
                 predictor: dict,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.loss_module = MODELS.build(loss)
        self.predictor = MODELS.build(predictor)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Predictions of the projections.

        Args:
            z (Tensor): ``N x D`` projector outputs.

        Returns:
            Tensor: ``N x D`` predictions ``p``.
        """
        return self.predictor([z])[0]

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The similarity loss of predictions and targets.

        Args:
            pred (Tensor): ``N x D`` predictions (from :meth:`forward`).
            target (Tensor): ``N x D`` targets, the other view's projections (detach them for
                SimSiam's stop-gradient).

        Returns:
            dict[str, Tensor]: ``loss``, the loss module's value.
        """
        return dict(loss=self.loss_module(pred, target))
