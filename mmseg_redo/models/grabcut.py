"""GrabCut from a centred box: the label-free baseline of the benchmark table.

GrabCut (OpenCV) is given, for every image, a box with a ``margin`` of the
image size left on each side, and segments the image in ``iterations``
rounds. It runs as an mmseg segmentor (:class:`GrabCutSegmentor`), so it is
scored through the same Runner test loop, pipeline and evaluators as the
learned models (configs/baselines/grabcut_flowers17-*.py), and mmseg's
``init_model(config, None)`` / ``inference_model`` segment photos with it.
It has no parameters: no checkpoint is needed anywhere.

:func:`refine_with_grabcut` runs the same GrabCut as a test-time refinement
of another model's prediction, seeded by its confident object pixels.
"""
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import OptConfigType, OptSampleList, SampleList

from ..datasets.base import OBJECT_METAINFO
from ..utils.mask_geometry import object_probability


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
                 seed: int = 0,
                 object_seeds: Optional[np.ndarray] = None) -> np.ndarray:
    """Segment one image with GrabCut from a centred box.

    Args:
        image (np.ndarray): BGR uint8 image (H, W, 3).
        margin (float): Box margin, a fraction of each side. Defaults to 0.1.
        iterations (int): GrabCut iterations. Defaults to 5.
        seed (int): Seed of OpenCV's RNG, set before each image: GrabCut's
            k-means initialisation is random, and moves the Flowers-17 test
            IoU by about +-0.01 between seeds. Defaults to 0.
        object_seeds (np.ndarray, optional): Boolean (H, W): pixels known
            to be the object (another model's confident ones). Those inside
            the box start as definite foreground, so GrabCut's object
            colour model starts from them and keeps them. None (the
            default): the box alone.

    Returns:
        np.ndarray: uint8 (H, W), 1 = object (definite or probable
        foreground), 0 = background.
    """
    height, width = image.shape[:2]
    box = centred_box(height, width, margin)
    mask = np.zeros((height, width), np.uint8)
    mode = cv2.GC_INIT_WITH_RECT
    if object_seeds is not None:
        # What GC_INIT_WITH_RECT sets, plus the seeds.
        x, y, w, h = box
        mask[y:y + h, x:x + w] = cv2.GC_PR_FGD
        mask[object_seeds & (mask == cv2.GC_PR_FGD)] = cv2.GC_FGD
        mode = cv2.GC_INIT_WITH_MASK
    bgd_model = np.zeros((1, 65), np.float64)
    fgd_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(seed)
    cv2.grabCut(
        np.ascontiguousarray(image), mask, box, bgd_model, fgd_model,
        iterations, mode)
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
        # OpenCV releases the GIL inside grabCut, so the photos of a batch
        # are fitted on as many cores as torch may use (the RNG seed is
        # set per photo in its thread: the masks do not depend on it).
        with ThreadPoolExecutor(torch.get_num_threads()) as pool:
            masks = np.stack(list(pool.map(
                lambda image: grabcut_mask(image, self.margin,
                                           self.iterations, self.seed),
                images)))
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


def refine_with_grabcut(sample: SegDataSample,
                        margin: float = 0.1,
                        iterations: int = 5,
                        seed: int = 0,
                        seed_threshold: Optional[float] = 0.9) -> None:
    """Refit a two-class prediction to the photo with seeded GrabCut.

    GrabCut from the centred box runs on the photo the test pipeline kept
    (``photo_img``, see :class:`KeepPhoto`), with the prediction's
    confident object pixels (probability above ``seed_threshold``) as
    definite foreground: the model tells GrabCut what the object looks
    like, GrabCut follows the photo's edges at its resolution. The mask
    comes back at ``ori_shape``; ``seg_logits`` become the mean of the
    model's object probability and GrabCut's mask, whose argmax is
    GrabCut's mask and whose confidence is high only where the two agree.
    A sample without ``photo_img`` is left as it is.

    Args:
        sample (SegDataSample): With two-class ``seg_logits`` at
            ``ori_shape``; its ``seg_logits`` and ``pred_sem_seg`` are
            replaced.
        margin (float): Box margin, a fraction of each side. Defaults to
            0.1.
        iterations (int): GrabCut iterations. Defaults to 5.
        seed (int): OpenCV's RNG seed. Defaults to 0.
        seed_threshold (float, optional): Object probability above which a
            pixel seeds the object; None: the box alone. Defaults to 0.9.
    """
    photo = sample.metainfo.get('photo_img')
    if photo is None:
        return
    prob = object_probability(sample.seg_logits.data)
    seeds = None
    if seed_threshold is not None:
        at_photo = F.interpolate(
            prob[None, None], size=photo.shape[:2], mode='bilinear',
            align_corners=False)[0, 0]
        seeds = (at_photo > seed_threshold).cpu().numpy()
    mask = grabcut_mask(photo, margin, iterations, seed, seeds)
    mask = torch.from_numpy(
        cv2.resize(mask, prob.shape[::-1],
                   interpolation=cv2.INTER_NEAREST)).to(prob.device)
    refined = (prob + mask) / 2
    logits = torch.stack([1 - refined, refined]).clamp_min(1e-6).log()
    sample.seg_logits = PixelData(data=logits)
    sample.pred_sem_seg = PixelData(data=mask[None].long())
