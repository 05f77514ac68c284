# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Image loading whose every failure names the file.

mmcv's ``LoadImageFromFile`` reports a file that cv2 cannot decode only through an ``assert``
(gone under ``python -O``), and an empty file or a Pillow decode error without the file name
at all (``cv2.error: !buf.empty()``, ``cannot identify image file <_io.BytesIO ...>``).
:class:`CheckedLoadImageFromFile` keeps mmcv's arguments and outputs and raises
:class:`ImageLoadError` naming the file instead. Importing ``mlcl_plugin`` registers it under
the stock name ``LoadImageFromFile`` in mmpretrain's transform registry, so every config in the
``mmpretrain`` scope (all of this plugin's) gets it without a change.
"""
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import mmpretrain.datasets  # noqa: F401  (mmpretrain registers the stock loader first)
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmpretrain.registry import TRANSFORMS


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
        **kwargs: The arguments of mmcv's ``LoadImageFromFile`` (``to_float32``,
            ``color_type``, ``imdecode_backend``, ``file_client_args``, ``ignore_empty``,
            ``backend_args``).
    """

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


# the stock name in the mmpretrain scope (where this plugin's configs build their pipelines),
# plus an explicit name for configs that want to say which loader they mean
TRANSFORMS.register_module(
    name=['LoadImageFromFile', 'CheckedLoadImageFromFile'], module=CheckedLoadImageFromFile,
    force=True)
