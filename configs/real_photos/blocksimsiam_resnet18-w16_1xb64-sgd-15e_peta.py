# BlockSimSiam (arXiv 2506.23156) on the PETA training photos, no labels: every image cut into
# a 2 x 2 grid of overlapping blocks (gamma 0.3), both view pipelines on every block (8 views of
# the two-view recipe's size), SimSiam without stop-gradient + 4 x the image-aware loss
# (tau 0.3, tau0 0.07). Projector, predictor, optimiser and epochs as the stock SimSiam config
# (./simsiam_resnet18-w16_1xb64-sgd-15e_peta.py): equal epochs, 4 x its views per image.
_base_ = ['./simsiam_resnet18-w16_1xb64-sgd-15e_peta.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.block_pipeline}}))
model = dict(
    type='BlockSimSiam',
    stop_gradient=False,
    ia_head=dict(type='ImageAwareHead', temperature=0.3, base_temperature=0.07,
                 form='log_sum', loss_weight=4.0))
