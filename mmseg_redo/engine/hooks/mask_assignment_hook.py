"""Choose, on the validation split, which of ReDO's regions is the object."""
import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class MaskAssignmentHook(Hook):
    """Set ``model.object_index`` to the region that best matches the object.

    ReDO's regions come unlabelled: which one covers the object is decided
    by training, and may differ between runs. Before every validation, this
    hook passes once over the validation split, scores each region's hard
    mask (probability > 0.5, as predict() thresholds it) against the object class with the
    dataset-level IoU (ignore pixels excluded), and stores the best region
    in the model's ``object_index`` buffer. Validation metrics, the best
    checkpoint and every later test then use that one fixed assignment,
    which is saved in the checkpoint's state dict.

    Args:
        object_label (int): Label of the object class in ``gt_sem_seg``.
            Defaults to 1.
        ignore_index (int): Label excluded from scoring. Defaults to 255.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, object_label: int = 1, ignore_index: int = 255) -> None:
        self.object_label = object_label
        self.ignore_index = ignore_index

    def before_val_epoch(self, runner) -> None:
        """Score every region on the validation split and keep the best."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        intersection = torch.zeros(model.num_regions, dtype=torch.float64)
        union = torch.zeros_like(intersection)
        model.eval()
        with torch.no_grad():
            for batch in runner.val_dataloader:
                data = model.data_preprocessor(batch, False)
                masks = model.mask_net(data['inputs'])
                for mask, sample in zip(masks, data['data_samples']):
                    i, u = self._region_overlaps(mask, sample)
                    intersection += i
                    union += u
        # all_reduce sums in place across ranks (a no-op when not distributed).
        intersection, union = intersection.to(masks.device), union.to(
            masks.device)
        all_reduce(intersection)
        all_reduce(union)
        iou = (intersection / union.clamp_min(1)).cpu()
        best = int(iou.argmax())
        model.object_index.fill_(best)
        runner.logger.info(
            'MaskAssignmentHook: object IoU of each region on the validation '
            f'split {[round(float(v), 4) for v in iou]}: region {best} is '
            'the object.')

    def _region_overlaps(self, mask: torch.Tensor, sample):
        """Intersection and union of each region with the object, one image.

        Args:
            mask (Tensor): Soft masks (n, H, W) at the network's input size.
            sample (SegDataSample): With ``gt_sem_seg`` at ``ori_shape``.
        """
        gt = sample.gt_sem_seg.data[0].to(mask.device)
        mask = F.interpolate(
            mask[None], size=gt.shape, mode='bilinear',
            align_corners=False)[0]
        valid = gt != self.ignore_index
        target = (gt == self.object_label) & valid
        predicted = (mask > 0.5) & valid
        inter = (predicted & target).flatten(1).sum(1)
        uni = (predicted | target).flatten(1).sum(1)
        return inter.double().cpu(), uni.double().cpu()
