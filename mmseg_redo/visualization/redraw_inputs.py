"""Image files as a ReDO model's inputs, for redraw grids of any photo.

The config's test pipeline reads the files (its loader made a file loader,
its ground-truth steps dropped), then the model's data preprocessor
normalises them; images not at the generators' size after the pipeline are
resized to it, the only size the generators paint at.
"""
import copy
from typing import List

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import print_log

#: Loaders replaced by a file loader, and ground-truth steps dropped: bare
#: image files have neither a synthetic source nor annotations.
LOADERS = ('LoadImageFromFile', 'LoadImageFromFileChecked',
           'LoadSyntheticSample', 'InferencerLoader')
NO_IMAGE_STEPS = ('LoadAnnotations', 'LoadObjectMask', 'ResetOriShape')


def image_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline, reading bare image files.

    The loader becomes ``LoadImageFromFileChecked`` (keeping its options
    for file loaders) and the ground-truth steps are dropped; the resizing
    and cropping stay.

    Args:
        cfg (Config): The model's config.

    Returns:
        Compose: The pipeline, taking ``dict(img_path=...)``.
    """
    steps = []
    for step in copy.deepcopy(cfg.test_dataloader.dataset.pipeline):
        kind = step.get('type')
        if kind in NO_IMAGE_STEPS:
            continue
        if kind in LOADERS:
            if kind == 'LoadSyntheticSample':
                step = dict()
            step['type'] = 'LoadImageFromFileChecked'
        steps.append(step)
    if not steps or steps[0]['type'] != 'LoadImageFromFileChecked':
        steps.insert(0, dict(type='LoadImageFromFileChecked'))
    return Compose(steps)


def load_redraw_inputs(model: torch.nn.Module, cfg: Config,
                       images: List[str]) -> torch.Tensor:
    """Images through the test pipeline and the model's data preprocessor.

    Args:
        model (nn.Module): The ReDO model.
        cfg (Config): Its config.
        images (list[str]): Image files.

    Returns:
        Tensor: Normalised images (B, 3, S, S) at the generators' size S,
        for :func:`~mmseg_redo.visualization.redraw_grid`.
    """
    pipeline = image_pipeline(cfg)
    batch = pseudo_collate([pipeline(dict(img_path=path)) for path in images])
    shapes = {tuple(x.shape[-2:]) for x in batch['inputs']}
    size = cfg.model.region_generators.generator.img_size
    if shapes != {(size, size)}:
        # A test pipeline without a crop to the training size (e.g. the
        # synthetic data's): bring each image to the generators' size.
        print_log(
            f'images are {sorted(shapes)} after the test pipeline; resizing '
            f'to the generators\' {size}x{size}',
            logger='current')
        batch['inputs'] = [
            F.interpolate(
                x[None].float(), (size, size),
                mode='bilinear',
                align_corners=False)[0] for x in batch['inputs']
        ]
    return model.data_preprocessor(batch, False)['inputs']
