# The reference model of arXiv 2506.23156 (docs/algorithms/blockwise.md): SimSiam with a ResNet-50 from
# scratch (zero-initialised last BN of every residual block, SyncBN), 3-layer 2048-d projector
# ending in BN without affine, 2048 -> 512 -> 2048 predictor; loss = SimSiam term (no
# stop-gradient, as the reference) + 4 x image-aware term (log of the positive sum / |P|,
# tau 0.3, tau0 0.07) on the projector/predictor outputs of the 8 block views.
model = dict(
    type='BlockSimSiam',
    stop_gradient=False,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=50,
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=True),
    neck=dict(
        type='NonLinearNeck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=2048,
        num_layers=3,
        with_last_bn_affine=False,
        with_avg_pool=True),
    head=dict(
        type='LatentPredictHead',
        loss=dict(type='CosineSimilarityLoss'),
        predictor=dict(
            type='NonLinearNeck',
            in_channels=2048,
            hid_channels=512,
            out_channels=2048,
            with_avg_pool=False,
            with_last_bn=False,
            with_last_bias=True)),
    ia_head=dict(
        type='ImageAwareHead',
        temperature=0.3,
        base_temperature=0.07,
        form='log_sum',
        loss_weight=4.0))
