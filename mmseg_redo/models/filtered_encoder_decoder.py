"""mmseg's EncoderDecoder with ReDO's test-time guided filter."""
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from .refinement import refine_predictions


@MODELS.register_module()
class FilteredEncoderDecoder(EncoderDecoder):
    """An ``EncoderDecoder`` whose two-class predictions are refitted to the
    image by the guided filter, as ReDO's are.

    For supervised segmenters trained on ReDO's pseudo-labels (a student
    of the label-free pipeline), so that they are sharpened at the photo's
    size exactly as their teacher was. ``test_cfg.guided_filter`` takes
    the arguments of :func:`refine_with_guided_filter` (``radius``, in
    pixels of the network's input, ``eps``, ``guide_channels``); without
    it this is mmseg's ``EncoderDecoder``.
    """

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """mmseg's prediction, then the guided filter at ``ori_shape``."""
        samples = super().predict(inputs, data_samples)
        refine_predictions(samples, inputs, self.data_preprocessor,
                           self.test_cfg)
        return samples
