# The CPU backbone of the real-photo benchmark: ResNet-18 (ImageNet stem) at quarter width
# (16 base channels, 128-d output), from random init. At 128 x 64 px it trains at about 750
# images/s forward + backward on 2 CPU cores, so the data loader, not the network, sets the pace.
backbone = dict(
    type='ResNet', depth=18, stem_channels=16, base_channels=16,
    norm_cfg=dict(type='BN'), zero_init_residual=False)
# SimSiam-style methods start with the last BN of every residual block at zero
backbone_zero_init = dict(
    type='ResNet', depth=18, stem_channels=16, base_channels=16,
    norm_cfg=dict(type='BN'), zero_init_residual=True)
mean = [123.675, 116.28, 103.53]
std = [58.395, 57.12, 57.375]
selfsup_preprocessor = dict(type='SelfSupDataPreprocessor', mean=mean, std=std, to_rgb=True)
