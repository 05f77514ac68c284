# The same linear probe on a randomly initialised (untrained) backbone: the reference point
# that pretraining must beat.
_base_ = ['./resnet18-w16_linear-adam-10e_toyshapes.py']

model = dict(
    backbone=dict(init_cfg=[
        dict(type='Kaiming', layer=['Conv2d']),
        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
    ]))
