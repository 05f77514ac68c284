# MIML scene pipelines of the GPU recipe (configs/real_photos/gpu/): 224 x 224 px, the papers'
# ImageNet-style input, block views at 3/4 of it per side. Names carry a gpu_ prefix so that a
# GPU config can take both this file and a CPU config as bases.
gpu_scale = (224, 224)  # (h, w)
gpu_block_scale = (168, 168)
_aspect = (3. / 4., 4. / 3.)
_color = [
    dict(type='RandomApply',
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4,
                          hue=0.1)],
         prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
]
gpu_cls_view_pipeline = [
    dict(type='RandomResizedCrop', scale=gpu_scale, crop_ratio_range=(0.6, 1.0),
         aspect_ratio_range=_aspect, backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
]
gpu_train_pipeline = [
    dict(type='LoadImageFromFile'), *gpu_cls_view_pipeline, dict(type='PackInputs')]
gpu_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(gpu_scale[1], gpu_scale[0]), keep_ratio=False, backend='pillow'),
    dict(type='PackInputs'),
]
gpu_two_view_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[[
        dict(type='RandomResizedCrop', scale=gpu_scale, crop_ratio_range=(0.2, 1.0),
             aspect_ratio_range=_aspect, backend='pillow'),
        dict(type='RandomFlip', prob=0.5), *_color]]),
    dict(type='PackInputs'),
]
_block_view = [
    dict(type='RandomResizedCrop', scale=gpu_block_scale, crop_ratio_range=(0.2, 1.0),
         aspect_ratio_range=_aspect, backend='pillow'),
    dict(type='RandomFlip', prob=0.5), *_color]
gpu_block_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='BlockWiseAug', gamma=0.3, grid=2, transforms=[_block_view, _block_view]),
    dict(type='PackInputs', algorithm_keys=['block_idx', 'pipeline_idx']),
]
