"""GrabCut from a centred box: the label-free baseline of the benchmark table.

GrabCut (OpenCV) is given, for every image, a box with a ``margin`` of the
image size left on each side, and segments the image in ``iterations``
rounds. It runs as an mmseg segmentor (:class:`GrabCutSegmentor`), so it is
scored through the same Runner test loop, pipeline and evaluators as the
learned models (configs/baselines/grabcut_flowers17-*.py), and mmseg's
``init_model(config, None)`` / ``inference_model`` segment photos with it.
It has no parameters: no checkpoint is needed anywhere.
"""
from typing import List, Optional, Tuple

import cv2
import numpy as np
import torch
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import OptConfigType, OptSampleList, SampleList

from ..datasets.base import OBJECT_METAINFO


def centred_box(height: int, width: int,
                margin: float) -> Tuple[int, int, int, int]:
    """GrabCut's rectangle ``(x, y, w, h)`` leaving ``margin`` on each side.

    Args:
        height (int): Image height.
        width (int): Image width.
        margin (float): Fraction of the size left out on each side.

    Returns:
        tuple[int, int, int, int]: ``(x, y, w, h)`` in pixels.
    """
    x, y = int(round(margin * width)), int(round(margin * height))
    return x, y, width - 2 * x, height - 2 * y


def grabcut_mask(image: np.ndarray,
                 margin: float = 0.1,
                 iterations: int = 5,
                 seed: int = 0) -> np.ndarray:
    """Segment one image with GrabCut from a centred box.

    Args:
        image (np.ndarray): BGR uint8 image (H, W, 3).
        margin (float): Box margin, a fraction of each side. Defaults to 0.1.
        iterations (int): GrabCut iterations. Defaults to 5.
        seed (int): Seed of OpenCV's RNG, set before each image: GrabCut's
            k-means initialisation is random, and moves the Flowers-17 test
            IoU by about +-0.01 between seeds. Defaults to 0.

    Returns:
        np.ndarray: uint8 (H, W), 1 = object (definite or probable
        foreground), 0 = background.
    """
    height, width = image.shape[:2]
    mask = np.zeros((height, width), np.uint8)
    bgd_model = np.zeros((1, 65), np.float64)
    fgd_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(seed)
    cv2.grabCut(
        np.ascontiguousarray(image), mask, centred_box(height, width, margin),
        bgd_model, fgd_model, iterations, cv2.GC_INIT_WITH_RECT)
    return ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)


@MODELS.register_module()
class GrabCutSegmentor(BaseSegmentor):
    """GrabCut as an mmseg segmentor (no parameters, nothing to train).

    Give it a data preprocessor that leaves pixels as they are (mean 0, std
    1, no channel conversion), so it receives the BGR images the loaders
    produce. Its classes are fixed (background, object), so they are set as
    ``dataset_meta`` here: with no checkpoint to read them from, mmseg's
    visualizers would otherwise have none.

    Args:
        margin (float): Box margin, a fraction of each side. Defaults to 0.1.
        iterations (int): GrabCut iterations. Defaults to 5.
        seed (int): OpenCV RNG seed, set before each image. Defaults to 0.
        data_preprocessor (dict, optional): ``SegDataPreProcessor`` config.
        train_cfg (dict, optional): Unused; accepted for mmseg's APIs.
        test_cfg (dict, optional): Unused; accepted for mmseg's APIs.
        pretrained (str, optional): Unused; accepted for mmseg's APIs.
        init_cfg (dict, optional): Unused.
    """

    def __init__(self,
                 margin: float = 0.1,
                 iterations: int = 5,
                 seed: int = 0,
                 data_preprocessor: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.margin = margin
        self.iterations = iterations
        self.seed = seed
        self.align_corners = False
        self.dataset_meta = dict(OBJECT_METAINFO)

    def encode_decode(self, inputs: torch.Tensor,
                      batch_img_metas: List[dict]) -> torch.Tensor:
        """One-hot logits (B, 2, H, W): 0 = background, 1 = object."""
        images = inputs.detach().round().clamp(0, 255).byte()
        images = images.permute(0, 2, 3, 1).cpu().numpy()
        masks = np.stack([
            grabcut_mask(image, self.margin, self.iterations, self.seed)
            for image in images
        ])
        obj = torch.from_numpy(masks).to(inputs.device, torch.float32)
        # Channels last: mmseg's postprocess_result takes the argmax over
        # classes after resizing to each photo's size, and on CPU that
        # argmax is ~15x faster with the classes innermost.
        return torch.stack([1.0 - obj, obj], dim=-1).permute(0, 3, 1, 2)

    def predict(self,
                inputs: torch.Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Segment ``inputs``; predictions at each sample's ``ori_shape``."""
        if data_samples is None:
            metas = [dict(ori_shape=inputs.shape[2:])] * inputs.size(0)
        else:
            metas = [sample.metainfo for sample in data_samples]
        return self.postprocess_result(
            self.encode_decode(inputs, metas), data_samples)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """GrabCut has no features."""
        raise NotImplementedError('GrabCut has no features')

    def _forward(self,
                 inputs: torch.Tensor,
                 data_samples: OptSampleList = None) -> torch.Tensor:
        """The one-hot logits."""
        return self.encode_decode(inputs, [])

    def loss(self, inputs: torch.Tensor, data_samples: SampleList) -> dict:
        """GrabCut is not trained."""
        raise NotImplementedError('GrabCut is not trained')
