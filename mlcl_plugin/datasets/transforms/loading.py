# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Image loading whose every failure names the file.

mmcv's ``LoadImageFromFile`` reports a file that cv2 cannot decode only through an ``assert``
(gone under ``python -O``), and an empty file or a Pillow decode error without the file name
at all (``cv2.error: !buf.empty()``, ``cannot identify image file <_io.BytesIO ...>``).
:class:`CheckedLoadImageFromFile` keeps mmcv's arguments and outputs and raises
:class:`ImageLoadError` naming the file instead. Importing ``mlcl_plugin`` registers it under
the stock name ``LoadImageFromFile`` in mmpretrain's transform registry, so every config in the
``mmpretrain`` scope (all of this plugin's) gets it without a change.

It can also decode a JPEG at a reduced size (``decode_min_side``): the DCT scaling of the JPEG
decoder produces 1/2, 1/4 or 1/8 of the image for less than the full decode, and every later
transform then handles a fraction of the pixels, which helps a small data loader keep up with
a small model trained on large photos.
"""
from typing import Optional, Tuple

import cv2
import mmcv
import mmengine.fileio as fileio
import mmpretrain.datasets  # noqa: F401  (mmpretrain registers the stock loader first)
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmpretrain.registry import TRANSFORMS


def jpeg_size(data: bytes) -> Optional[Tuple[int, int]]:
    """``(height, width)`` from a JPEG's start-of-frame header, None if there is none.

    Reads the marker segments up to the first SOF (a few hundred bytes): Pillow's
    ``Image.open`` gives the same answer at the cost of a fifth of a full decode, too much for
    a loader whose point is to decode less.
    """
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], 'big')
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 9 > end:
                return None
            return (int.from_bytes(data[pos + 5:pos + 7], 'big'),
                    int.from_bytes(data[pos + 7:pos + 9], 'big'))
        pos += 2 + length
    return None


class ImageLoadError(OSError):
    """An image file that exists but cannot be read or decoded (empty, corrupt, truncated)."""


class CheckedLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with errors that name the file.

    Policy (the same for every decoder backend):

    - a missing file raises ``FileNotFoundError`` naming it (as mmcv);
    - an empty (0-byte) file, a file the backend cannot read, or bytes the decoder rejects or
      cannot turn into an image (corrupt, truncated, not an image) raise
      :class:`ImageLoadError` (an ``OSError``) whose message starts with
      ``failed to load image: <path>:`` and says which of these it was;
    - with ``ignore_empty=True`` every one of these returns ``None`` instead, which mmengine's
      ``BaseDataset`` answers in training by drawing another sample (and in test mode by an
      error). mmcv's own ``ignore_empty`` still asserted on an undecodable file.

    **Required Keys:** ``img_path``.

    **Modified Keys:** ``img``, ``img_shape``, ``ori_shape`` (as mmcv).

    Args:
        *args: The positional arguments of mmcv's ``LoadImageFromFile``.
        decode_min_side (int, optional): Decode a colour JPEG at the smallest of the JPEG
            decoder's reduced scales (1/2, 1/4, 1/8) whose shorter side is still at least this
            many pixels (OpenCV's ``IMREAD_REDUCED_COLOR_*``, as mmcv's default cv2 backend,
            EXIF orientation included). Set it to
            what the pipeline needs, e.g. ``out_size / sqrt(min_crop_area)`` for a
            ``RandomResizedCrop``, so no crop is upsampled. Other images, and JPEGs already
            smaller than twice this, are decoded as without it. Default None (full size).
        **kwargs: The arguments of mmcv's ``LoadImageFromFile`` (``to_float32``,
            ``color_type``, ``imdecode_backend``, ``file_client_args``, ``ignore_empty``,
            ``backend_args``).
    """

    def __init__(self, *args, decode_min_side: Optional[int] = None, **kwargs):
        super().__init__(*args, **kwargs)
        if decode_min_side is not None and (not isinstance(decode_min_side, int)
                                            or decode_min_side < 1):
            raise ValueError(f'decode_min_side must be a positive int or None, got '
                             f'{decode_min_side!r}')
        self.decode_min_side = decode_min_side

    def _decode_reduced(self, img_bytes: bytes) -> Optional[np.ndarray]:
        """A colour JPEG decoded at a reduced DCT scale (BGR, H x W x 3), or None when the
        image is too small to reduce or its size cannot be read (the caller then decodes it
        at full size)."""
        size = jpeg_size(img_bytes)
        if size is None:
            return None
        factor = min(size) / self.decode_min_side
        if factor < 2:
            return None
        flag = (cv2.IMREAD_REDUCED_COLOR_8 if factor >= 8 else
                cv2.IMREAD_REDUCED_COLOR_4 if factor >= 4 else cv2.IMREAD_REDUCED_COLOR_2)
        return cv2.imdecode(np.frombuffer(img_bytes, np.uint8), flag)

    def _fail(self, message: str, cause: Optional[BaseException] = None) -> None:
        if self.ignore_empty:
            return None
        raise ImageLoadError(message) from cause

    def transform(self, results: dict) -> Optional[dict]:
        """Read and decode ``results['img_path']``.

        Args:
            results (dict): Result dict with ``img_path``.

        Returns:
            dict | None: The dict with the decoded image, or ``None`` for an unreadable file
            when ``ignore_empty=True``.
        """
        filename = results['img_path']
        try:
            if self.file_client_args is not None:
                client = fileio.FileClient.infer_client(self.file_client_args, filename)
                img_bytes = client.get(filename)
            else:
                img_bytes = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError as err:
            if self.ignore_empty:
                return None
            if str(filename) in str(err):
                raise
            raise FileNotFoundError(f'image file not found: {filename}') from err
        except Exception as err:  # any backend's read error, re-raised with the file
            return self._fail(f'failed to load image: {filename}: cannot read it '
                              f'({type(err).__name__}: {err})', err)
        if not img_bytes:
            return self._fail(f'failed to load image: {filename}: the file is empty (0 bytes)')
        backend = self.imdecode_backend
        try:
            img = None
            if (self.decode_min_side is not None and self.color_type == 'color'
                    and img_bytes[:3] == b'\xff\xd8\xff'):  # the JPEG start-of-image marker
                backend = 'cv2 (reduced-size JPEG)'
                img = self._decode_reduced(img_bytes)
            if img is None:
                backend = self.imdecode_backend
                img = mmcv.imfrombytes(img_bytes, flag=self.color_type, backend=backend)
        except Exception as err:  # Pillow / turbojpeg decode errors do not name the file
            return self._fail(f'failed to load image: {filename}: the {backend} decoder '
                              f'rejected its {len(img_bytes)} bytes ({type(err).__name__}: '
                              f'{err})', err)
        if img is None:  # cv2 returns None for bytes it cannot decode, e.g. a truncated JPEG
            return self._fail(f'failed to load image: {filename}: the {backend} decoder could '
                              f'not decode its {len(img_bytes)} bytes (corrupt, truncated or '
                              'not an image)')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        text = super().__repr__()
        if self.decode_min_side is not None:
            text = f'{text[:-1]}, decode_min_side={self.decode_min_side})'
        return text


# the stock name in the mmpretrain scope (where this plugin's configs build their pipelines),
# plus an explicit name for configs that want to say which loader they mean
TRANSFORMS.register_module(
    name=['LoadImageFromFile', 'CheckedLoadImageFromFile'], module=CheckedLoadImageFromFile,
    force=True)
