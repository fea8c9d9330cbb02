"""Batched prediction of photo files through a config's test pipeline.

The one predict path of :func:`~mmseg_redo.apis.segment_folder` and
:func:`~mmseg_redo.apis.write_pseudo_labels`: photos are decoded and resized
by the config's top-level ``test_pipeline`` (as mmseg's ``inference_model``
does) in data-loader workers, grouped by resized size and segmented in
batches with ``model.test_step``, so each prediction comes back at its
photo's own size.
"""
from collections import defaultdict
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import Compose
from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample
from torch.utils.data import DataLoader, Dataset

from ..utils.mask_geometry import object_probability


class PhotoDataset(Dataset):
    """Photos through a config's test pipeline.

    The pipeline's first transform is its loader (as mmseg's
    ``inference_model`` assumes); with ``keep_photo``, its output, the photo
    at its own size as the config decodes it (BGR), is kept too. A file
    the loader cannot read gives a sample with ``error`` instead of
    raising, so one bad file does not stop the batch.

    Args:
        paths (Sequence[str]): Photo files.
        pipeline (Sequence[dict]): The config's ``test_pipeline``.
        keep_photo (bool): Keep the decoded photo as ``photo``. Defaults
            to False.
    """

    def __init__(self,
                 paths: Sequence[str],
                 pipeline: Sequence[dict],
                 keep_photo: bool = False) -> None:
        self.paths = list(paths)
        self.keep_photo = keep_photo
        # Photos have no annotations (inference_model drops this too).
        pipeline = [t for t in pipeline if t['type'] != 'LoadAnnotations']
        self.loader = TRANSFORMS.build(pipeline[0])
        self.transforms = Compose(pipeline[1:])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        path = self.paths[index]
        try:
            results = self.loader(dict(img_path=path, img_id=index))
        except Exception as error:  # any decoder error means a bad file
            return dict(
                index=index, error=f'{type(error).__name__}: {error}')
        photo = results['img']
        packed = self.transforms(results)
        sample = dict(
            index=index,
            inputs=packed['inputs'],
            data_samples=packed['data_samples'])
        if self.keep_photo:
            sample['photo'] = photo
        return sample


def _as_is(sample: dict) -> dict:
    """DataLoader collate function: samples are grouped later, by size."""
    return sample


def group_by_size(samples: Iterable[dict],
                  batch_size: int,
                  max_pending: Optional[int] = None) -> Iterator[List[dict]]:
    """Batches of samples whose inputs have one size.

    ``test_pipeline`` resizes without cropping, so photos of different
    aspect ratios give inputs of different sizes. Padding them to one size
    would change the predictions (GrabCut's box, pooling over the padding),
    so batches are made of equal sizes only.

    Args:
        samples (Iterable[dict]): Samples with ``inputs`` (C, H, W).
        batch_size (int): Largest batch.
        max_pending (int, optional): Samples held back at most while
            waiting for same-size ones; beyond it the fullest group goes
            out unfilled (memory stays bounded with many sizes). Defaults
            to ``4 * batch_size``.

    Yields:
        list[dict]: A batch of one input size.
    """
    max_pending = max_pending or 4 * batch_size
    groups = defaultdict(list)
    pending = 0
    for sample in samples:
        group = groups[tuple(sample['inputs'].shape)]
        group.append(sample)
        pending += 1
        if len(group) < batch_size and pending < max_pending:
            continue
        fullest = max(groups, key=lambda size: len(groups[size]))
        pending -= len(groups[fullest])
        yield groups.pop(fullest)
    yield from groups.values()


def object_probability_map(prediction: SegDataSample) -> np.ndarray:
    """The object probability of a two-class prediction, (H, W) float32
    (:func:`~mmseg_redo.utils.mask_geometry.object_probability`
    of its ``seg_logits``)."""
    return object_probability(prediction.seg_logits.data).cpu().numpy()


def predict_photos(model: torch.nn.Module,
                   paths: Sequence[str],
                   batch_size: int = 16,
                   num_workers: int = 2,
                   keep_photo: bool = False
                   ) -> Iterator[Tuple[dict, Optional[SegDataSample]]]:
    """Segment photo files in batches; predictions at each photo's size.

    Args:
        model (nn.Module): A model from mmseg's ``init_model`` (its ``cfg``
            holds the top-level ``test_pipeline``).
        paths (Sequence[str]): Photo files.
        batch_size (int): Photos per forward pass. Defaults to 16.
        num_workers (int): Data-loader processes decoding photos (0: in
            this process). Defaults to 2.
        keep_photo (bool): Give each sample its decoded photo (BGR, the
            photo's own size) as ``photo``. Defaults to False.

    Yields:
        tuple[dict, SegDataSample | None]: A sample (``index`` into
        ``paths``, and ``photo`` if asked) with its prediction, or, for a
        file that could not be decoded, a sample with ``error`` and None.
        Photos come in batch order, not in the order of ``paths``.
    """
    if not paths:
        return
    loader = DataLoader(
        PhotoDataset(paths, model.cfg.test_pipeline, keep_photo),
        batch_size=None,
        collate_fn=_as_is,
        num_workers=num_workers)
    failures = []

    def decoded(samples: Iterable[dict]) -> Iterator[dict]:
        for sample in samples:
            if 'error' in sample:
                failures.append(sample)
            else:
                yield sample

    for batch in group_by_size(decoded(loader), batch_size):
        # Failures found while this batch was gathered go out first.
        while failures:
            yield failures.pop(0), None
        with torch.no_grad():
            predictions = model.test_step(
                dict(
                    inputs=[s['inputs'] for s in batch],
                    data_samples=[s['data_samples'] for s in batch]))
        for sample, prediction in zip(batch, predictions):
            yield sample, prediction
    while failures:
        yield failures.pop(0), None
