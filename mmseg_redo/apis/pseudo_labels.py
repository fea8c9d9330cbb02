"""Write a model's predicted masks as label PNGs (pseudo-labels).

The first step of a refinement: a trained model predicts the object mask of
every training image, and a supervised segmenter is then trained on these
masks (e.g. configs/redo/redo_refine_flowers17.py). No ground truth is read.
"""
import os.path as osp
import sys
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar
from mmseg.registry import DATASETS

from ..datasets.mask_rules import IGNORE_INDEX
from ..utils.file_io import write_bytes_whole
from .inference import object_probability_map, predict_photos
from .segment_folder import UsageError, encode


def split_images(cfg: Config, split: str) -> List[str]:
    """Image paths of a split (``train``, ``val`` or ``test``) of a config.

    Raises:
        UsageError: The config has no dataloader for ``split``.
    """
    loader = cfg.get(f'{split}_dataloader')
    if not loader:
        raise UsageError(f'the config has no {split}_dataloader; choose '
                         'another split')
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(loader.dataset)
    return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]


def write_pseudo_labels(model: torch.nn.Module,
                        images: Sequence[str],
                        out_dir: str,
                        batch_size: int = 8,
                        num_workers: int = 2,
                        min_confidence: Optional[float] = None) -> List[str]:
    """Predict every image and write its mask as ``<out_dir>/<stem>.png``.

    Each PNG is single-channel, 0 = background, 1 = object, 255 = ignore,
    at the photo's own size (the format of the Flowers-17 masks, which
    ``LoadObjectMask`` reads with the ``label`` rule), written whole or not
    at all.

    Args:
        model (nn.Module): A model from mmseg's ``init_model`` (its ``cfg``
            holds the top-level ``test_pipeline``).
        images (Sequence[str]): Image paths; their stems must differ.
        out_dir (str): Output folder (created).
        batch_size (int): Images per forward pass (of one size). Defaults
            to 8.
        num_workers (int): Data-loader processes decoding images. Defaults
            to 2.
        min_confidence (float, optional): Keep only pixels whose predicted
            class has at least this probability; the others are written
            255, which training ignores. None (the default) keeps all.

    Returns:
        list[str]: The written PNG paths, in the order of ``images``.

    Raises:
        UsageError: Two images share a stem, or an image cannot be read.
    """
    stems = [osp.splitext(osp.basename(path))[0] for path in images]
    if len(set(stems)) < len(stems):
        raise UsageError('images with the same file name in different '
                         'folders would share a pseudo-label; give images '
                         'with unique names')
    written = [osp.join(out_dir, stem + '.png') for stem in stems]
    progress = ProgressBar(len(images), file=sys.stderr)
    for sample, prediction in predict_photos(model, images, batch_size,
                                             num_workers):
        if prediction is None:
            raise UsageError(f'cannot read {images[sample["index"]]}: '
                             f'{sample["error"]}')
        label = prediction.pred_sem_seg.data[0].cpu().numpy().astype(
            np.uint8)
        if min_confidence is not None:
            prob = object_probability_map(prediction)
            label[np.maximum(prob, 1 - prob) < min_confidence] = IGNORE_INDEX
        write_bytes_whole(written[sample['index']],
                          encode(label, '.png'))
        progress.update()
    sys.stderr.write('\n')
    return written
