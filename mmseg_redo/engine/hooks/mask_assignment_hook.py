"""Choose, on the validation split, which of ReDO's regions is the object."""
from typing import Dict, Iterable, Optional

import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...utils.mask_geometry import border_band
from ...utils.runner import unwrap_model

RULES = ('auto', 'labels', 'border')


@HOOKS.register_module()
class MaskAssignmentHook(Hook):
    """Set ``model.object_index`` to the region that is the object.

    ReDO's regions come unlabelled: which one covers the object is decided
    by training, and may differ between runs. Before every validation, this
    hook passes once over the validation split and scores every region by
    two rules:

    - ``'labels'``: the dataset-level IoU of the region's hard mask
      (probability > 0.5, as predict() thresholds it) with the object class
      of ``gt_sem_seg`` (ignore pixels excluded); the best region wins.
    - ``'border'``: no labels. The region covering most of the image border
      is the background, so the object is the region with the least mean
      soft mass on a band along the edge (``border_fraction`` of the shorter
      side), averaged over the images; cf. CutLER's MaskCut, which flips a
      mask that holds 3 of 4 corners.

    The chosen region is stored in the model's ``object_index`` buffer, so
    validation metrics, the best checkpoint and every later test use that
    one fixed assignment, saved in the checkpoint's state dict. When every
    validation sample has ``gt_sem_seg``, both choices are computed, logged
    and put in the message hub (``val/assignment/label_choice``,
    ``val/assignment/border_choice``, ``val/assignment/agree``; the chosen
    region as ``val/assignment/object_index``), so they appear in the
    validation records of the json log.

    Args:
        rule (str): ``'auto'`` (labels when every validation sample has
            ``gt_sem_seg``, else border), ``'labels'`` or ``'border'``.
            Defaults to ``'auto'``.
        object_label (int): Label of the object class in ``gt_sem_seg``.
            Defaults to 1.
        ignore_index (int): Label excluded from scoring. Defaults to 255.
        border_fraction (float): Width of the border band, as a fraction of
            the shorter side (at least one pixel). Defaults to 1/16.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 rule: str = 'auto',
                 object_label: int = 1,
                 ignore_index: int = 255,
                 border_fraction: float = 1 / 16) -> None:
        if rule not in RULES:
            raise ValueError(
                f'MaskAssignmentHook: rule must be one of {RULES}, got '
                f'{rule!r}')
        self.rule = rule
        self.object_label = object_label
        self.ignore_index = ignore_index
        self.border_fraction = border_fraction

    def before_val_epoch(self, runner) -> None:
        """Score every region on the validation split and keep the chosen."""
        result = self.assign(unwrap_model(runner.model),
                             runner.val_dataloader)
        self._log(runner, result)

    def assign(self, model, dataloader: Iterable) -> dict:
        """One pass over ``dataloader``; set ``model.object_index``.

        Args:
            model (nn.Module): A ReDO model (unwrapped).
            dataloader (Iterable): Batches as the dataloader gives them.

        Returns:
            dict: ``rule`` (the rule applied), ``object_index``,
            ``choices`` (the region of each rule: ``'border'``, and
            ``'labels'`` when every sample has labels), ``border_mass`` and,
            with labels, ``iou`` (per region).
        """
        stats = self._region_statistics(model, dataloader)
        border_mass = stats['border'] / stats['images'].clamp_min(1)
        result = dict(
            border_mass=border_mass,
            choices=dict(border=int(border_mass.argmin())))
        labelled = int(stats['unlabelled']) == 0
        if labelled:
            result['iou'] = stats['intersection'] / stats['union'].clamp_min(1)
            result['choices']['labels'] = int(result['iou'].argmax())
        result['rule'] = self._effective_rule(labelled)
        result['object_index'] = result['choices'][result['rule']]
        model.object_index.fill_(result['object_index'])
        return result

    def _effective_rule(self, labelled: bool) -> str:
        """The rule to apply: ``'auto'`` resolved, ``'labels'`` checked."""
        if self.rule == 'labels' and not labelled:
            raise ValueError(
                "MaskAssignmentHook(rule='labels'): some validation samples "
                "have no gt_sem_seg; use rule='border' or 'auto' for "
                'unlabelled photos.')
        if self.rule == 'auto':
            return 'labels' if labelled else 'border'
        return self.rule

    def _region_statistics(self, model,
                           dataloader: Iterable) -> Dict[str, torch.Tensor]:
        """Sums over the split (and over ranks) of each region's scores.

        Returns:
            dict[str, Tensor]: Per region (float64, CPU): ``border`` (sum
            over images of the mean mass on the border band),
            ``intersection`` and ``union`` with the object (labelled
            samples); and ``images`` and ``unlabelled`` counts.
        """
        n = model.num_regions
        sums = {
            key: torch.zeros(n, dtype=torch.float64)
            for key in ('border', 'intersection', 'union')
        }
        sums.update(
            images=torch.zeros(1, dtype=torch.float64),
            unlabelled=torch.zeros(1, dtype=torch.float64))
        device: Optional[torch.device] = None
        model.eval()
        with torch.no_grad():
            for batch in dataloader:
                data = model.data_preprocessor(batch, False)
                masks = model.mask_net(data['inputs'])
                device = masks.device
                sums['border'] += self._border_mass(masks)
                sums['images'] += masks.size(0)
                for mask, sample in zip(masks, data['data_samples']):
                    if 'gt_sem_seg' not in sample:
                        sums['unlabelled'] += 1
                        continue
                    inter, union = self._region_overlaps(mask, sample)
                    sums['intersection'] += inter
                    sums['union'] += union
        for key, value in sums.items():
            # all_reduce sums in place across ranks (a no-op when not
            # distributed), on the device the backend expects.
            value = value.to(device)
            all_reduce(value)
            sums[key] = value.cpu()
        return sums

    def _border_mass(self, masks: torch.Tensor) -> torch.Tensor:
        """Mean soft mass of each region on the border band, summed over a
        batch's images.

        Args:
            masks (Tensor): Soft masks (B, n, H, W).
        """
        band = border_band(*masks.shape[-2:], self.border_fraction,
                           masks.device)
        return masks[:, :, band].mean(dim=2).sum(dim=0).double().cpu()

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

    @staticmethod
    def _log(runner, result: dict) -> None:
        """Log both choices, and put them in the message hub's scalars."""
        choices = result['choices']
        mass = [round(float(v), 4) for v in result['border_mass']]
        message = (f'MaskAssignmentHook ({result["rule"]} rule): region '
                   f'{result["object_index"]} is the object. Border rule: '
                   f'mean mass of each region on the border {mass}, region '
                   f'{choices["border"]}.')
        scalars = dict(
            object_index=result['object_index'],
            border_choice=choices['border'])
        if 'labels' in choices:
            iou = [round(float(v), 4) for v in result['iou']]
            agree = choices['labels'] == choices['border']
            message += (f' Label rule: object IoU of each region on the '
                        f'validation split {iou}, region {choices["labels"]}'
                        f'; the rules {"agree" if agree else "disagree"}.')
            scalars.update(label_choice=choices['labels'], agree=float(agree))
        runner.logger.info(message)
        for key, value in scalars.items():
            # 'val/' scalars go into the validation record of the logs.
            runner.message_hub.update_scalar(f'val/assignment/{key}', value)
