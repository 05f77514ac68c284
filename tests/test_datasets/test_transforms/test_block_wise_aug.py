# Copyright (c) mlcl_plugin authors. All rights reserved.
"""BlockWiseAug: the reference block geometry, view layout, stock pipelines, bad inputs."""
import numpy as np
import pytest
from mmcv.transforms.utils import cache_random_params
from PIL import Image

import mlcl_plugin  # noqa: F401  (registers the transform)
from mlcl_plugin.datasets.transforms import BlockWiseAug, block_boxes, reference_pipelines

# (W, H, gamma) -> boxes (x0, y0, x1, y1) in the reference order TL, BL, TR, BR, worked out by
# hand from the block rule of docs/algorithms/blockwise.md: x in [0, W//2 + gW] / [W//2 - gW, W]
# (likewise y), the float ends rounded half-to-even as PIL's crop does.
REFERENCE_BOXES = [
    # COCO-sized photo, the COCO script's gamma: 320 +- 192, 240 +- 144
    ((640, 480, 0.3), [[0, 0, 512, 384], [0, 96, 512, 480],
                       [128, 0, 640, 384], [128, 96, 640, 480]]),
    # portrait, the VOC script's gamma: 213 + 85.4 = 298.4 -> 298, 213 - 85.4 = 127.6 -> 128
    ((427, 640, 0.2), [[0, 0, 298, 448], [0, 192, 298, 640],
                       [128, 0, 427, 448], [128, 192, 427, 640]]),
    # ties: 2 + 0.5 = 2.5 -> 2 and 2 - 0.5 = 1.5 -> 2 (half to even); 1 +- 0.3 -> 1
    ((5, 3, 0.1), [[0, 0, 2, 1], [0, 1, 2, 3], [2, 0, 5, 1], [2, 1, 5, 3]]),
    # gamma 0.5: 3 + 3.5 = 6.5 -> 6, 3 - 3.5 = -0.5 -> 0; every block spans all rows
    ((7, 4, 0.5), [[0, 0, 6, 4], [0, 0, 6, 4], [0, 0, 7, 4], [0, 0, 7, 4]]),
]


@pytest.mark.parametrize(('size', 'expected'), REFERENCE_BOXES)
def test_block_boxes_match_reference_geometry(size, expected):
    width, height, gamma = size
    boxes = block_boxes(width, height, gamma)
    assert boxes.dtype == np.int64
    assert boxes.tolist() == expected


@pytest.mark.parametrize(('size', 'expected'), REFERENCE_BOXES)
def test_blocks_equal_pil_crops_of_the_reference_float_boxes(size, expected):
    """The reference crops a PIL image with float boxes; the pixels must be the same."""
    width, height, gamma = size
    img = np.arange(width * height * 3, dtype=np.uint32).reshape(height, width, 3) % 251
    img = img.astype(np.uint8)
    pil = Image.fromarray(img)
    w2, h2 = width // 2, height // 2
    gw, gh = gamma * width, gamma * height
    float_boxes = [(0, 0, w2 + gw, h2 + gh), (0, h2 - gh, w2 + gw, height),
                   (w2 - gw, 0, width, h2 + gh), (w2 - gw, h2 - gh, width, height)]
    for (x0, y0, x1, y1), ref_box in zip(block_boxes(width, height, gamma), float_boxes):
        np.testing.assert_array_equal(img[y0:y1, x0:x1], np.asarray(pil.crop(ref_box)))


def test_block_boxes_general_grid():
    # 3 x 1 grid: cells [0, 30], [30, 60], [60, 90] extended by 0.1 * 90 = 9 inside
    assert block_boxes(90, 60, 0.1, grid=(3, 1)).tolist() == [
        [0, 0, 39, 60], [21, 0, 69, 60], [51, 0, 90, 60]]
    # 1 x 2: column-major order is just top, bottom
    assert block_boxes(10, 10, 0.2, grid=(1, 2)).tolist() == [[0, 0, 10, 7], [0, 3, 10, 10]]


class Tag:
    """Replace the view by a 2 x 2 x 4 array tagged (pipeline, y0, x0, block height)."""

    def __init__(self, pipeline):
        self.pipeline = pipeline

    def __call__(self, results):
        block = results['img']
        assert results['img_shape'] == block.shape[:2]
        tag = np.array([self.pipeline, block[0, 0, 0], block[0, 0, 1], block.shape[0]])
        results['img'] = np.broadcast_to(tag, (2, 2, 4)).copy()
        return results


def _coord_image(width, height):
    """Pixel (y, x) holds (y, x, 0): a block's top-left pixel tells where it was cut."""
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([ys, xs, np.zeros_like(ys)], axis=2).astype(np.int32)


def test_view_count_order_and_ids():
    transform = BlockWiseAug(transforms=[[Tag(0)], [Tag(1)], [Tag(2)]], gamma=0.3)
    results = transform(dict(img=_coord_image(640, 480), img_path='a.jpg'))
    boxes = block_boxes(640, 480, 0.3)
    views = results['img']
    assert len(views) == 12 == transform.num_views
    for v, view in enumerate(views):
        p, b = divmod(v, 4)
        x0, y0, _, y1 = boxes[b]
        np.testing.assert_array_equal(view[0, 0], [p, y0, x0, y1 - y0], err_msg=f'view {v}')
    np.testing.assert_array_equal(results['block_idx'], [0, 1, 2, 3] * 3)
    np.testing.assert_array_equal(results['pipeline_idx'], [0] * 4 + [1] * 4 + [2] * 4)
    np.testing.assert_array_equal(results['block_boxes'], boxes)
    assert results['img_shape'] == (2, 2)
    assert results['block_gamma'] == 0.3
    assert results['img_path'] == 'a.jpg'


def test_decoded_image_is_not_modified_and_views_do_not_alias_it():
    img = _coord_image(64, 48)
    original = img.copy()
    transform = BlockWiseAug(transforms=[[], [lambda r: r]], gamma=0.2)
    views = transform(dict(img=img))['img']
    np.testing.assert_array_equal(img, original)
    boxes = block_boxes(64, 48, 0.2)
    for v, view in enumerate(views):
        x0, y0, x1, y1 = boxes[v % 4]
        np.testing.assert_array_equal(view, original[y0:y1, x0:x1])
        assert not np.shares_memory(view, img)


def test_stock_reference_pipelines_and_pack_inputs():
    """Built from a config dict with no default scope set: RandomApply must still find
    mmpretrain's ColorJitter; then PackInputs carries the layout to the DataSample."""
    from mmpretrain.registry import TRANSFORMS

    transform = TRANSFORMS.build(dict(type='BlockWiseAug', transforms=reference_pipelines(32)))
    pack = TRANSFORMS.build(dict(type='PackInputs', algorithm_keys=['block_idx',
                                                                    'pipeline_idx']))
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    packed = pack(transform(dict(img=img, img_path='x.jpg', ori_shape=(60, 80))))
    inputs = packed['inputs']
    assert len(inputs) == 8
    assert all(tuple(x.shape) == (3, 32, 32) for x in inputs)
    sample = packed['data_samples']
    np.testing.assert_array_equal(sample.block_idx, [0, 1, 2, 3, 0, 1, 2, 3])
    np.testing.assert_array_equal(sample.pipeline_idx, [0, 0, 0, 0, 1, 1, 1, 1])
    # T1 blurs and solarises with p 0.5, T2 with 0.1 / 0.2 (reference COCO script)
    t1, t2 = reference_pipelines()
    assert [t['type'] for t in t1] == ['RandomResizedCrop', 'RandomApply', 'RandomGrayscale',
                                       'GaussianBlur', 'Solarize', 'RandomFlip']
    assert (t1[3]['prob'], t1[4]['prob'], t2[3]['prob'], t2[4]['prob']) == (0.5, 0.5, 0.1, 0.2)
    assert t1[0]['crop_ratio_range'] == (0.2, 1.0)


def test_small_image_is_upsampled_by_the_crop():
    transform = BlockWiseAug(transforms=reference_pipelines(32))
    views = transform(dict(img=np.full((6, 8, 3), 200, dtype=np.uint8)))['img']
    assert all(v.shape == (32, 32, 3) for v in views)


def test_too_small_image_is_rejected_clearly():
    transform = BlockWiseAug(transforms=[[], []])
    with pytest.raises(ValueError, match=r"'tiny.png' of 1 x 1 px is too small"):
        transform(dict(img=np.zeros((1, 1, 3), np.uint8), img_path='tiny.png'))
    strict = BlockWiseAug(transforms=[[], []], min_block_size=9)  # blocks are 8 px
    with pytest.raises(ValueError, match='smallest block side would be 8 px < min_block_size=9'):
        strict(dict(img=np.zeros((10, 10, 3), np.uint8)))


@pytest.mark.parametrize('shape', [(12, 10), (12, 10, 1)])
def test_grayscale_is_replicated_to_three_channels(shape):
    img = np.arange(120, dtype=np.uint8).reshape(shape)
    views = BlockWiseAug(transforms=[[], []])(dict(img=img))['img']
    x0, y0, x1, y1 = block_boxes(10, 12, 0.3)[0]
    gray = img.reshape(12, 10)[y0:y1, x0:x1]
    assert views[0].shape == gray.shape + (3, )
    for c in range(3):
        np.testing.assert_array_equal(views[0][:, :, c], gray)


def test_alpha_channel_is_dropped():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (12, 10, 4), dtype=np.uint8)
    views = BlockWiseAug(transforms=[[], []])(dict(img=img))['img']
    x0, y0, x1, y1 = block_boxes(10, 12, 0.3)[3]
    np.testing.assert_array_equal(views[3], img[y0:y1, x0:x1, :3])


@pytest.mark.parametrize(('shape', 'convert', 'match'), [
    ((12, 10, 4), False, r'shape \(12, 10, 4\).*convert_channels=True'),
    ((12, 10), False, r'shape \(12, 10\)'),
    ((12, 10, 2), True, r'expected an H x W x 3 image, got shape \(12, 10, 2\)'),
    ((2, 12, 10, 3), True, r'got shape \(2, 12, 10, 3\)'),
])
def test_bad_channels_are_rejected(shape, convert, match):
    transform = BlockWiseAug(transforms=[[], []], convert_channels=convert)
    with pytest.raises(ValueError, match=match):
        transform(dict(img=np.zeros(shape, np.uint8)))


def test_random_gamma_is_drawn_per_image_and_cacheable():
    transform = BlockWiseAug(transforms=[[], []], gamma=(0.1, 0.3))
    img = np.zeros((100, 200, 3), np.uint8)
    gammas = []
    for _ in range(20):
        out = transform(dict(img=img))
        g = out['block_gamma']
        assert 0.1 <= g <= 0.3
        np.testing.assert_array_equal(out['block_boxes'], block_boxes(200, 100, g))
        gammas.append(g)
    assert len(set(gammas)) > 1
    with cache_random_params(transform):
        cached = {transform(dict(img=img))['block_gamma'] for _ in range(3)}
    assert len(cached) == 1


# in-place transforms (numpy and torch) are covered by the finding-8 tests in
# tests/test_datasets/test_data_safety.py: each view now owns its block


def test_views_of_different_shapes_are_rejected():
    transform = BlockWiseAug(transforms=[[], []], gamma=0.1)
    with pytest.raises(ValueError, match='different shapes'):
        transform(dict(img=np.ones((9, 9, 3), np.uint8)))  # blocks 5 and 4 px wide


def test_missing_image_and_non_array():
    transform = BlockWiseAug(transforms=[[], []])
    with pytest.raises(KeyError, match='LoadImageFromFile'):
        transform(dict(img_path='a.jpg'))
    with pytest.raises(TypeError, match='decoded numpy image'):
        transform(dict(img='a.jpg'))


@pytest.mark.parametrize(('kwargs', 'error', 'match'), [
    (dict(gamma=0.6), ValueError, 'gamma'),
    (dict(gamma=-0.1), ValueError, 'gamma'),
    (dict(gamma=(0.3, 0.1)), ValueError, 'gamma'),
    (dict(gamma='0.3'), ValueError, 'gamma'),
    (dict(grid=0), ValueError, 'grid'),
    (dict(grid=(1, 1)), ValueError, 'grid'),
    (dict(grid=(2, )), ValueError, 'grid'),
    (dict(min_block_size=0), ValueError, 'min_block_size'),
    (dict(transforms=dict(type='RandomFlip')), TypeError, 'list of pipelines'),
    (dict(transforms=[]), TypeError, 'list of pipelines'),
    (dict(transforms=[dict(type='RandomFlip')]), TypeError, 'list of pipelines'),
])
def test_bad_arguments(kwargs, error, match):
    kwargs.setdefault('transforms', [[], []])
    with pytest.raises(error, match=match):
        BlockWiseAug(**kwargs)


def test_defaults_and_repr():
    transform = BlockWiseAug()
    assert transform.num_views == 8
    assert transform.gamma == 0.3
    assert transform.grid == (2, 2)
    text = repr(transform)
    assert text.startswith('BlockWiseAug(gamma=0.3, grid=(2, 2)')
    assert 'num_views=8' in text
    assert 'Solarize' in text
    assert 'pipeline 1' in text
