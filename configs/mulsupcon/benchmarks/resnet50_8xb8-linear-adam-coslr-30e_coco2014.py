# The cosine variant of ./resnet50_8xb8-linear-adam-30e_coco2014.py: the learning rate follows a
# half cosine over the 30 epochs instead of dropping on a validation plateau; validation split,
# checkpoint selection and test as there.
_base_ = ['./resnet50_8xb8-linear-adam-30e_coco2014.py']

param_scheduler = [dict(type='CosineAnnealingLR', T_max=30, by_epoch=True, begin=0, end=30)]
