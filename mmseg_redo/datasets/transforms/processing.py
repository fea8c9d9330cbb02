"""Geometric transforms for ReDO's preprocessing."""
from typing import Tuple

from mmcv.transforms import BaseTransform

from mmseg.datasets.transforms import Resize
from mmseg.registry import TRANSFORMS


def shorter_side_shape(height: int, width: int, size: int) -> Tuple[int, int]:
    """Output (width, height) when the shorter side is resized to ``size``.

    The longer side is truncated, as torchvision's ``Resize(int)`` (used by
    the reference) does, rather than rounded as mmcv's ``imrescale`` does.

    Args:
        height (int): Input height.
        width (int): Input width.
        size (int): Target length of the shorter side.

    Returns:
        tuple[int, int]: ``(new_width, new_height)``, mmcv's scale order.
    """
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


@TRANSFORMS.register_module()
class ResizeShorterSide(BaseTransform):
    """Resize so the shorter side is ``size``, keeping the aspect ratio.

    Why a new transform: mmcv's ``Resize(keep_ratio=True)`` fits the image
    *inside* ``scale`` (its longer side is bounded), and mmseg's
    ``ResizeShortestEdge`` always interpolates bilinearly. This one computes
    the reference's output size (:func:`shorter_side_shape`) and hands the
    work to mmseg's ``Resize``, which also resizes ``gt_seg_map`` (always
    with nearest-neighbour).

    Args:
        size (int): Length of the shorter side after resizing.
        interpolation (str): Image interpolation. Defaults to ``'nearest'``,
            as the reference (masks are always nearest).
        backend (str): ``'pillow'`` (default) resamples exactly as the
            reference's PIL-based torchvision transforms; ``'cv2'`` picks
            nearest-neighbour pixels with a half-pixel offset.
    """

    def __init__(self,
                 size: int,
                 interpolation: str = 'nearest',
                 backend: str = 'pillow') -> None:
        self.size = size
        self.interpolation = interpolation
        self.backend = backend

    def transform(self, results: dict) -> dict:
        """Resize ``img`` and every map in ``seg_fields``.

        Args:
            results (dict): Holds ``img``.

        Returns:
            dict: The resized results, with ``img_shape`` updated.
        """
        height, width = results['img'].shape[:2]
        resize = Resize(
            scale=shorter_side_shape(height, width, self.size),
            keep_ratio=False,
            interpolation=self.interpolation,
            backend=self.backend)
        return resize(results)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, '
                f'interpolation={self.interpolation!r}, '
                f'backend={self.backend!r})')


@TRANSFORMS.register_module()
class ResetOriShape(BaseTransform):
    """Make the evaluation crop the "original" shape of the sample.

    mmseg's segmentors resize predictions to ``ori_shape`` before metrics
    compare them with ``gt_sem_seg``. The reference scores masks at the
    128x128 crop, with the ground truth resized and cropped like the image,
    so put this transform after the crop (and the mask loader before the
    resize): predictions then stay at the crop and match the cropped
    ground truth. Scores are computed at the evaluation crop, as the
    reference does.
    """

    def transform(self, results: dict) -> dict:
        """Set ``ori_shape`` to ``img_shape``.

        Args:
            results (dict): Holds ``img_shape``.

        Returns:
            dict: The updated results.
        """
        results['ori_shape'] = tuple(results['img_shape'][:2])
        return results
