"""Loading transforms that fail with a message naming the bad file."""
import io
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from PIL import Image

from mmseg.registry import TRANSFORMS
from ..base import DATASETS_DOC
from ..mask_rules import decode_mask


def is_16bit_gray(img: Image.Image) -> bool:
    """Whether PIL opened a 16-bit grayscale file (PNG or TIFF).

    PIL turns these into RGB by clipping at 255 rather than scaling, so an
    ordinary photo becomes almost white. Recent Pillow opens them as
    ``I;16*``; older Pillow opens 16-bit PNGs as 32-bit ``I``.

    Args:
        img (PIL.Image.Image): An opened (not necessarily decoded) image.

    Returns:
        bool: True for 16-bit grayscale.
    """
    return img.mode.startswith('I;16') or (img.mode == 'I'
                                           and img.format == 'PNG')


@TRANSFORMS.register_module()
class LoadImageFromFileChecked(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with errors that name the file.

    Differences from the parent, and why:

    - A missing, unreadable, corrupt or truncated file raises an error
      naming the path (the parent raises the decoder's bare error or an
      ``AssertionError``).
    - Defaults decode like the ReDO reference: PIL (which refuses truncated
      JPEGs, while OpenCV silently returns a half-grey image) and no EXIF
      rotation (masks are not rotated either, so rotating the image would
      misalign them).
    - Grayscale, palette and RGBA images become 3-channel BGR images, as
      with the parent's ``color_type='color...'``; that is not an error.
      16-bit grayscale files (PNG, TIFF) are decoded by OpenCV, which
      scales them to 8 bits, where PIL would clip them to an almost white
      image.

    Args:
        to_float32 (bool): Return a float32 image. Defaults to False.
        color_type (str): Passed to :func:`mmcv.imfrombytes`. Defaults to
            ``'color_ignore_orientation'``.
        imdecode_backend (str): Defaults to ``'pillow'``.
        ignore_empty (bool): Return None for a missing or undecodable file
            instead of raising. Defaults to False.
        backend_args (dict, optional): File backend arguments for
            :func:`mmengine.fileio.get`. Defaults to None.
    """

    def __init__(self,
                 to_float32: bool = False,
                 color_type: str = 'color_ignore_orientation',
                 imdecode_backend: str = 'pillow',
                 ignore_empty: bool = False,
                 *,
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(
            to_float32=to_float32,
            color_type=color_type,
            imdecode_backend=imdecode_backend,
            ignore_empty=ignore_empty,
            backend_args=backend_args)

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image at ``results['img_path']``.

        Args:
            results (dict): Must hold ``img_path``.

        Returns:
            dict | None: With ``img`` (BGR uint8, or float32 with
            ``to_float32``), ``img_shape`` and ``ori_shape``; None only
            with ``ignore_empty=True``.

        Raises:
            FileNotFoundError: The file does not exist.
            ValueError: The file cannot be decoded as an image.
        """
        path = results['img_path']
        try:
            img_bytes = fileio.get(path, backend_args=self.backend_args)
            img = self._decode(img_bytes)
        except Exception as err:
            if self.ignore_empty:
                return None
            if isinstance(err, FileNotFoundError):
                raise FileNotFoundError(
                    f'image file {path} does not exist; check data_root and '
                    f'{DATASETS_DOC}') from err
            raise ValueError(
                f'cannot decode image file {path} ({type(err).__name__}: '
                f'{err}); the file is corrupt or truncated: re-download it '
                'or remove it from the split list') from err
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def _decode(self, img_bytes: bytes) -> np.ndarray:
        """Decode with the configured backend, 16-bit grayscale with cv2.

        Raises:
            ValueError: OpenCV could not decode the bytes (it returns None
                rather than raising).
        """
        backend = self.imdecode_backend
        if backend == 'pillow':
            # Reads the header only: the pixels are decoded once, below.
            with Image.open(io.BytesIO(img_bytes)) as img:
                if is_16bit_gray(img):
                    backend = 'cv2'
        img = mmcv.imfrombytes(
            img_bytes, flag=self.color_type, backend=backend)
        if img is None:
            raise ValueError('OpenCV returned no image')
        return img


@TRANSFORMS.register_module()
class LoadObjectMask(BaseTransform):
    """Load a dataset's ground truth as a 0/1/255 ``gt_seg_map``.

    The file at ``results['seg_map_path']`` is decoded and converted by the
    rule in ``results['mask_rule']`` (set by the dataset, see
    :mod:`mmseg_redo.datasets.mask_rules`), so one config line serves every
    dataset. Put it right after the image loader, before any resize or
    crop, so the mask is resized and cropped with the image.

    A sample without ``seg_map_path`` (an unlabelled training image, or a
    bare image given to mmseg's ``inference_model``, which only strips
    ``LoadAnnotations`` from pipelines) passes through unchanged; evaluation
    splits are built with ``require_masks=True``, which guarantees every
    sample has a mask.

    Args:
        rule (str, optional): Force a rule instead of ``results['mask_rule']``.
            Defaults to None.
        backend_args (dict, optional): File backend arguments for
            :func:`mmengine.fileio.get`. Defaults to None.

    Raises:
        FileNotFoundError: The mask file does not exist.
        ValueError: The mask cannot be decoded, breaks its rule, or its size
            differs from the image's (the message names both files).
    """

    def __init__(self,
                 rule: Optional[str] = None,
                 backend_args: Optional[dict] = None) -> None:
        self.rule = rule
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        """Add ``gt_seg_map`` (uint8, H x W) and register it in seg_fields.

        Args:
            results (dict): Holds ``seg_map_path`` (else nothing is done) and,
                normally, the loaded ``img``.

        Returns:
            dict: The updated results.
        """
        path = results.get('seg_map_path')
        if path is None:
            return results
        rule = self.rule or results.get('mask_rule', 'label')
        if not fileio.exists(path, backend_args=self.backend_args):
            raise FileNotFoundError(
                f'mask file {path} (for image {results.get("img_path")}) '
                f'does not exist; see {DATASETS_DOC}')
        mask = decode_mask(
            fileio.get(path, backend_args=self.backend_args), rule, path)
        img = results.get('img')
        if img is not None and img.shape[:2] != mask.shape:
            raise ValueError(
                f'mask {path} is {mask.shape[1]}x{mask.shape[0]} (WxH) but '
                f'its image {results.get("img_path")} is '
                f'{img.shape[1]}x{img.shape[0]}; they must be the same size '
                '(was one of them resized or replaced?)')
        results['gt_seg_map'] = mask
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(rule={self.rule!r})'


@TRANSFORMS.register_module()
class LoadSyntheticSample(BaseTransform):
    """Move a :class:`SyntheticObjectsDataset` sample into the pipeline.

    The image is BGR, like mmcv's file loaders give.

    Args:
        with_seg (bool): Also add the mask as ``gt_seg_map``. Training
            pipelines leave it False (ReDO never reads masks to train).
            Defaults to False.
    """

    def __init__(self, with_seg: bool = False) -> None:
        self.with_seg = with_seg

    def transform(self, results: dict) -> dict:
        """Set ``img``, ``img_shape``, ``ori_shape`` (and ``gt_seg_map``).

        Args:
            results (dict): A synthetic data info.

        Returns:
            dict: The updated results.
        """
        if 'synthetic_img' not in results:
            raise KeyError(
                'LoadSyntheticSample needs a SyntheticObjectsDataset sample '
                f'(got keys {sorted(results)}); use LoadImageFromFileChecked '
                'for datasets of files')
        img = results.pop('synthetic_img')
        mask = results.pop('synthetic_mask')
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        if self.with_seg:
            results['gt_seg_map'] = mask
            results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(with_seg={self.with_seg})'
