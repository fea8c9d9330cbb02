"""Test-time refinements of a segmentor's two-class predictions."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmseg.structures import SegDataSample

from .grabcut import refine_with_grabcut
from .guided_filter import refine_with_guided_filter


def refine_predictions(samples: Sequence[SegDataSample],
                       inputs: torch.Tensor, data_preprocessor: nn.Module,
                       test_cfg: Optional[dict]) -> None:
    """Apply the refinements ``test_cfg`` asks for to every prediction.

    What a segmentor's ``predict`` calls after mmseg's
    ``postprocess_result``, in this order:

    - ``guided_filter``: :func:`refine_with_guided_filter`, the soft mask
      refitted to the image's colours at ``ori_shape``;
    - ``grabcut``: :func:`refine_with_grabcut`, GrabCut on the photo the
      test pipeline kept (``KeepPhoto``), seeded by the prediction's
      confident object pixels; samples without the photo (scoring at the
      network's crop) are left as they are.

    Args:
        samples (Sequence[SegDataSample]): Post-processed predictions.
        inputs (Tensor): Their preprocessed inputs, (B, 3, H, W).
        data_preprocessor (nn.Module): The model's ``SegDataPreProcessor``.
        test_cfg (dict, optional): The model's test settings.
    """
    test_cfg = test_cfg or {}
    guided, grabcut = test_cfg.get('guided_filter'), test_cfg.get('grabcut')
    for sample, image in zip(samples, inputs):
        if guided is not None:
            refine_with_guided_filter(sample, image, data_preprocessor,
                                      **guided)
        if grabcut is not None:
            refine_with_grabcut(sample, **grabcut)
