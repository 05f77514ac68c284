# Copyright (c) mlcl_plugin authors. All rights reserved.
"""CheckedLoadImageFromFile(decode_min_side=...): a JPEG decoded at a reduced DCT scale, checked
against the full decode resized, and jpeg_size against Pillow."""
import cv2
import numpy as np
import pytest
from PIL import Image

from mlcl_plugin.datasets.transforms.loading import (
    CheckedLoadImageFromFile,
    ImageLoadError,
    jpeg_size,
)


def _photo(h, w, seed=0):
    """A smooth colour image with some edges (JPEG-friendly, not constant)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // w, y * 255 // h, (x + y) * 127 // (h + w)], -1).astype(np.uint8)
    for _ in range(6):
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(10, 60)
        img[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.integers(0, 255, 3)
    return img


def _save(tmp_path, name, img, **kwargs):
    path = tmp_path / name
    Image.fromarray(img).save(path, **kwargs)
    return str(path)


@pytest.mark.parametrize('kwargs', [{}, {'progressive': True}, {'subsampling': 0}])
def test_jpeg_size_reads_the_frame_header(tmp_path, kwargs):
    for h, w in ((480, 640), (17, 1001), (1, 1)):
        path = _save(tmp_path, 'x.jpg', _photo(h, w), quality=90, **kwargs)
        with open(path, 'rb') as f:
            assert jpeg_size(f.read()) == (h, w) == Image.open(path).size[::-1]
    png = _save(tmp_path, 'x.png', _photo(20, 30))
    with open(png, 'rb') as f:
        assert jpeg_size(f.read()) is None
    assert jpeg_size(b'\xff\xd8\xff\xe0\x00') is None  # cut inside the first segment


@pytest.mark.parametrize(('min_side', 'shape'), [
    (144, (240, 320)),   # factor 3.3: 1/2 scale
    (100, (120, 160)),   # factor 4.8: 1/4 scale, shorter side 120 >= 100
    (50, (60, 80)),      # factor 9.6: 1/8 scale
    (250, (480, 640)),   # factor < 2: full size
])
def test_reduced_decode_matches_the_full_decode_resized(tmp_path, min_side, shape):
    path = _save(tmp_path, 'p.jpg', _photo(480, 640), quality=95)
    full = CheckedLoadImageFromFile()(dict(img_path=path))['img']
    out = CheckedLoadImageFromFile(decode_min_side=min_side)(dict(img_path=path))
    assert out['img'].shape == (*shape, 3)
    assert out['img_shape'] == out['ori_shape'] == shape
    assert out['img'].dtype == np.uint8
    ref = cv2.resize(full, shape[::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(ref.astype(int) - out['img']).mean() < 3  # same picture, same BGR order


def test_other_images_are_decoded_as_without_it(tmp_path):
    img = _photo(300, 400)
    png = _save(tmp_path, 'p.png', img)
    default = CheckedLoadImageFromFile()(dict(img_path=png))['img']
    reduced = CheckedLoadImageFromFile(decode_min_side=50)(dict(img_path=png))['img']
    np.testing.assert_array_equal(default, reduced)
    gray = _save(tmp_path, 'g.jpg', img, quality=90)
    out = CheckedLoadImageFromFile(decode_min_side=50, color_type='grayscale')(
        dict(img_path=gray))['img']
    assert out.shape == (300, 400)  # only colour decodes are reduced


def test_bad_jpeg_and_bad_argument_name_the_problem(tmp_path):
    path = tmp_path / 'bad.jpg'
    good = open(_save(tmp_path, 'g.jpg', _photo(480, 640)), 'rb').read()
    path.write_bytes(good[:200] + b'\x00' * 50)  # header, then no image data
    with pytest.raises(ImageLoadError, match=r'failed to load image: .*bad\.jpg: the cv2'):
        CheckedLoadImageFromFile(decode_min_side=100)(dict(img_path=str(path)))
    with pytest.raises(ValueError, match='decode_min_side must be a positive int'):
        CheckedLoadImageFromFile(decode_min_side=0)
    assert 'decode_min_side=64' in repr(CheckedLoadImageFromFile(decode_min_side=64))
