"""Transforms for scoring and predicting above the network's input size."""
from typing import Optional

import mmcv
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from .processing import ResizeShorterSide


@TRANSFORMS.register_module()
class KeepPhoto(BaseTransform):
    """Keep the photo as it is now, at a working size, for a test-time step.

    ``model.test_cfg.grabcut`` (:func:`~mmseg_redo.models.grabcut.
    refine_with_grabcut`) refits the model's mask to the photo with GrabCut
    at this resolution; the mask then comes back at ``ori_shape``. Put it
    right after the loader, before the resize to the network's size, and
    add the key (``'photo_img'``) to ``PackSegInputs``' ``meta_keys``.

    Adds ``results[key]``: the current ``img`` (BGR uint8; not copied when
    kept as it is, as later transforms make new arrays rather than writing
    into it), resized with area interpolation so that its shorter side is
    ``shorter_side``, or shrunk to fit in ``max_side`` x ``max_side`` when
    larger; with neither, as it is.

    Args:
        shorter_side (int, optional): The working resolution. Defaults to
            128.
        max_side (int, optional): Longest side kept, when ``shorter_side``
            is None. Defaults to None.
        key (str): Where the photo goes. Defaults to ``'photo_img'``.
    """

    def __init__(self,
                 shorter_side: Optional[int] = 128,
                 max_side: Optional[int] = None,
                 key: str = 'photo_img') -> None:
        self.shorter_side = shorter_side
        self.max_side = max_side
        self.key = key

    def transform(self, results: dict) -> dict:
        """Add ``results[key]``.

        Args:
            results (dict): Holds ``img``.

        Returns:
            dict: The updated results.
        """
        img = results['img']
        if self.shorter_side:
            height, width = img.shape[:2]
            scale = self.shorter_side / min(height, width)
            img = mmcv.imresize(
                img, (max(1, round(width * scale)),
                      max(1, round(height * scale))),
                interpolation='area')
        elif self.max_side and max(img.shape[:2]) > self.max_side:
            img = mmcv.imrescale(
                img, (self.max_side, self.max_side), interpolation='area')
        results[self.key] = img
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(shorter_side={self.shorter_side}, '
                f'max_side={self.max_side}, key={self.key!r})')


@TRANSFORMS.register_module()
class KeepGuideImage(KeepPhoto):
    """Keep the image as it is now as the guide of the test-time filter.

    ReDO's test-time guided filter (``model.test_cfg.guided_filter``, see
    :func:`mmseg_redo.models.guided_filter.refine_with_guided_filter`)
    brings the mask from the network's input size up to ``ori_shape`` with
    the edges of a guide image. Put this transform where the image has the
    resolution the prediction is returned at (after loading for photos;
    after the crop and ``ResetOriShape`` for scoring at the crop) and
    before the resize to the network's size, and add ``'guide_img'`` to
    ``PackSegInputs``' ``meta_keys``. Without it the filter uses the
    network's input, upsampled, as the guide.

    No config of this project keeps the photo: with the small-data recipe's
    filter settings, chosen with the network's input as the guide, the
    photo scored lower on Flowers-17
    (configs/redo/README.md#small-data-recipe). It is for a model whose
    filter settings were chosen with it.

    Adds ``guide_img``: the current ``img``, shrunk to fit in ``max_side``
    x ``max_side`` when larger (see :class:`KeepPhoto`).

    Args:
        max_side (int, optional): Longest side of the kept guide. The guide
            travels with every sample (through data-loader workers and
            batches), filter or not; a larger photo gets a guide at this
            size, which the filter upsamples to the photo's. None keeps
            every size. Defaults to 1024.
    """

    def __init__(self, max_side: Optional[int] = 1024) -> None:
        super().__init__(
            shorter_side=None, max_side=max_side, key='guide_img')


@TRANSFORMS.register_module()
class ResizeImageShorterSide(ResizeShorterSide):
    """:class:`ResizeShorterSide` of the image alone.

    The maps in ``seg_fields`` (the ground truth) keep their size, as in
    mmseg's test pipelines that load annotations after the resize: scores
    are then computed at the size the image had before (make it
    ``ori_shape`` with ``ResetOriShape``), e.g. a 64x64 network scored at
    the 128x128 crop.

    Args:
        size (int): Length of the image's shorter side after resizing.
        interpolation (str): Defaults to ``'nearest'``, as the reference.
        backend (str): Defaults to ``'pillow'``.
    """

    def transform(self, results: dict) -> dict:
        """Resize ``img``; leave every map in ``seg_fields`` as it is.

        Args:
            results (dict): Holds ``img``.

        Returns:
            dict: The results with ``img`` and ``img_shape`` resized.
        """
        seg_fields = results.pop('seg_fields', [])
        results = super().transform(results)
        results['seg_fields'] = seg_fields
        return results
