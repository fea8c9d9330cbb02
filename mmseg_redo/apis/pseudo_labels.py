"""Write a model's predicted masks as label PNGs (pseudo-labels).

The first step of a refinement or a student: a trained model (the teacher)
predicts the object mask of every training photo, and a supervised
segmenter is then trained on these masks (e.g.
configs/redo/redo_refine_flowers17.py). No ground truth is read.
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
from PIL import Image

from ..datasets.mask_rules import IGNORE_INDEX
from ..utils.file_io import write_bytes_whole
from .folder_outputs import encode
from .inference import object_probability_map, predict_photos
from .segment_folder import UsageError


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


def stem_names(images: Sequence[str]) -> List[str]:
    """``<stem>.png`` for each image, the names split datasets read.

    Raises:
        UsageError: Two images share a stem.
    """
    names = [osp.splitext(osp.basename(path))[0] + '.png' for path in images]
    if len(set(names)) < len(names):
        raise UsageError('images with the same file name in different '
                         'folders would share a pseudo-label; label the '
                         'folder instead (--folder), which keeps sub-folders')
    return names


def write_pseudo_labels(model: torch.nn.Module,
                        images: Sequence[str],
                        out_dir: str,
                        names: Optional[Sequence[str]] = None,
                        batch_size: int = 8,
                        num_workers: int = 2,
                        min_confidence: Optional[float] = None,
                        agree_with: Optional[str] = None) -> dict:
    """Predict every image and write its mask as a label PNG.

    Each PNG is single-channel, 0 = background, 1 = object, 255 = ignore,
    at the photo's own size (the format of the Flowers-17 masks, which
    ``LoadObjectMask`` reads with the ``label`` rule), written whole or not
    at all.

    Args:
        model (nn.Module): A model from mmseg's ``init_model`` (its ``cfg``
            holds the top-level ``test_pipeline``).
        images (Sequence[str]): Image paths.
        out_dir (str): Output folder (created).
        names (Sequence[str], optional): Each image's label path relative
            to ``out_dir``; defaults to :func:`stem_names`.
        batch_size (int): Images per forward pass (of one size). Defaults
            to 8.
        num_workers (int): Data-loader processes decoding images. Defaults
            to 2.
        min_confidence (float, optional): Keep only pixels whose predicted
            class has at least this probability; the others are written
            255, which training ignores. None (the default) keeps all.
        agree_with (str, optional): A folder of another teacher's labels
            with the same names: pixels where its label differs (or is 255)
            are written 255, so only pixels both teachers agree on are
            kept. None (the default): this model alone.

    Returns:
        dict: ``written``, the PNG paths in the order of ``images`` (None
        for an image that could not be read), and ``failed``, each
        unreadable image with the decoder's error: it is skipped, as
        training skips it.

    Raises:
        UsageError: ``agree_with`` lacks a label or holds one of another
            size.
    """
    names = list(names) if names is not None else stem_names(images)
    written, failed = [None] * len(images), {}
    progress = ProgressBar(len(images), file=sys.stderr)
    for sample, prediction in predict_photos(model, images, batch_size,
                                             num_workers):
        index = sample['index']
        progress.update()
        if prediction is None:
            failed[images[index]] = sample['error']
            continue
        label = prediction.pred_sem_seg.data[0].cpu().numpy().astype(
            np.uint8)
        if min_confidence is not None:
            prob = object_probability_map(prediction)
            label[np.maximum(prob, 1 - prob) < min_confidence] = IGNORE_INDEX
        if agree_with is not None:
            label[read_label(osp.join(agree_with, names[index]),
                             label.shape) != label] = IGNORE_INDEX
        written[index] = osp.join(out_dir, names[index])
        write_bytes_whole(written[index], encode(label, '.png'))
    sys.stderr.write('\n')
    return dict(written=written, failed=failed)


def read_label(path: str, shape: tuple) -> np.ndarray:
    """A label PNG that must exist and have ``shape``.

    Raises:
        UsageError: It does not exist or has another size.
    """
    if not osp.isfile(path):
        raise UsageError(f'{path} not found: the other teacher\'s labels '
                         'must name the same photos (write them first with '
                         'the same --folder or split)')
    label = np.asarray(Image.open(path))
    if label.shape != shape:
        raise UsageError(f'{path} is {label.shape[::-1]} pixels, the photo '
                         f'{shape[::-1]}: labels of another photo?')
    return label
