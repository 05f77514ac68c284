# BlockMoCo on the MIML scene training photos, no labels: MoCo v2 with block views; queries are the
# 4 blocks of one pipeline, keys the 4 blocks of the other from the momentum encoder, a query's
# positives are the 4 keys of its own image (image-aware loss, tau = tau0 = 0.2, MoCo v2's scale).
# Backbone, neck, queue length, key momentum, optimiser and epochs as the stock MoCo v2 config
# (./mocov2_resnet18-w16_1xb64-adam-15e_miml.py): equal epochs, 4 x its views per image.
_base_ = ['./mocov2_resnet18-w16_1xb64-adam-15e_miml.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.block_pipeline}}))
model = dict(
    type='BlockMoCo',
    queue_mode='full',
    head=dict(_delete_=True, type='ImageAwareHead', temperature=0.2, base_temperature=0.2,
              form='log_sum'))
