"""Segment every photo under a folder: masks, cut-outs, scores, a review page.

For each image under ``in_dir`` (searched recursively; .jpg .jpeg .png
.bmp .webp .tif .tiff in any case; hidden files and folders, such as
macOS' ``._*`` companions, left out), written under ``out_dir`` with the
image's relative path and a ``.png`` suffix (see
:func:`~mmseg_redo.datasets.image_folder.output_names`):

- ``masks/<rel>.png``: single-channel PNG, 255 = object, 0 = background, at
  the photo's own size;
- ``cutouts/<rel>.png``: the photo as RGBA, alpha = the mask (colours kept
  everywhere, so the alpha can be refined later);
- ``thumbs/<rel>.jpg``: a thumbnail with the mask outlined and the
  background dimmed;

and, for the whole folder, ``scores.csv`` (every photo's label-free mask
measures, quality score and flags, worst first), ``index.html`` (a review
page that works offline from the folder, worst first) and
``contact_sheet.png`` (the first photos by path).

Every output is written under a temporary name and renamed, and each
photo's measures go to a journal (``.journal/*.jsonl``, one line per photo,
written after its files), so a rerun skips the photos that are finished and
redoes any a killed run left unfinished. The photos can be split between
processes (mmengine's launcher) and between machines (``shard``): each
photo belongs to one share by a hash of its path, and the folder-wide files
are made from the journals of every share.

The parts: :mod:`.folder_outputs` (where each photo's files go),
:mod:`.folder_journal` (which photos are this process's, what is finished)
and :mod:`.folder_report` (the measures, scores.csv and the review pages).
"""
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dist import all_gather_object, barrier, get_dist_info
from mmengine.utils import ProgressBar
from mmseg.apis import init_model

from ..datasets.image_folder import IMAGE_SUFFIXES, find_images
from .folder_journal import Journal, photos_to_do
from .folder_outputs import FolderOutputs
from .folder_report import photo_record, write_folder_report
from .inference import object_probability_map, predict_photos


class UsageError(ValueError):
    """Bad input to the folder tools; the message names the file and the
    fix."""


def check_folders(in_dir: str, out_dir: str) -> None:
    """Fail early, naming the bad folder and the fix.

    Raises:
        UsageError: The input folder is missing or holds no image, or the
            output folder lies inside it (a rerun would segment the masks).
    """
    if not osp.isdir(in_dir):
        raise UsageError(f'input folder {in_dir} does not exist or is '
                         'not a folder; give the folder holding the photos')
    if not find_images(in_dir):
        raise UsageError(
            f'no image ({" ".join(IMAGE_SUFFIXES)}, any case) under '
            f'{in_dir}; give the folder holding the photos')
    real_in, real_out = osp.realpath(in_dir), osp.realpath(out_dir)
    if osp.commonpath([real_in, real_out]) == real_in:
        raise UsageError(
            f'output folder {out_dir} is inside the input folder '
            f'{in_dir}, so a rerun would segment the masks too; give an '
            'output folder outside it')


def init_folder_model(config: str,
                      checkpoint: Optional[str] = None,
                      device: str = 'cpu',
                      cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """mmseg's ``init_model``, with errors that name the file and the fix.

    Args:
        config (str): Config file with a top-level ``test_pipeline``.
        checkpoint (str, optional): Trained weights; None only for a model
            without weights (GrabCut).
        device (str): Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides of the config.

    Raises:
        UsageError: A file is missing, the config has no
            ``test_pipeline``, or its model has weights and no checkpoint
            was given.
    """
    if not osp.isfile(config):
        raise UsageError(
            f'config {config} does not exist; give a config file such '
            'as configs/redo/redo_flowers17_cpu.py')
    if checkpoint and not osp.isfile(checkpoint):
        raise UsageError(
            f'checkpoint {checkpoint} does not exist; give the .pth '
            'file tools/train.py wrote (work_dirs/<config>/best_*.pth), or '
            'leave it out for a model without weights (GrabCut)')
    model = init_model(
        config, checkpoint, device=device, cfg_options=cfg_options)
    if not model.cfg.get('test_pipeline'):
        raise UsageError(
            f'{config} has no top-level test_pipeline (what mmseg\'s '
            'inference_model reads); add one, as in '
            'configs/_base_/datasets/redo_photos_128.py')
    if checkpoint is None and next(model.parameters(), None) is not None:
        raise UsageError(
            f'{config} builds a model with weights but no checkpoint '
            'was given; pass the trained .pth after the config (only '
            'weightless models such as GrabCut run without one)')
    return model


def segment_folder(model: torch.nn.Module,
                   in_dir: str,
                   out_dir: str,
                   batch_size: int = 16,
                   num_workers: int = 2,
                   shard: Tuple[int, int] = (0, 1),
                   progress: bool = True) -> dict:
    """Segment every image under ``in_dir`` into ``out_dir``.

    Under a distributed launch (mmengine's launcher, one process group),
    every process takes its own share of the photos and the first one
    writes the folder-wide files once all have finished. ``shard`` splits
    the photos further, between runs that know nothing of each other (on
    other machines, writing into one shared ``out_dir``): each run does
    its share and then writes the folder-wide files from every share
    finished so far, so the last run to end leaves them complete.

    Args:
        model (nn.Module): A model from mmseg's ``init_model`` (its ``cfg``
            holds the ``test_pipeline``), e.g. from
            :func:`init_folder_model`.
        in_dir (str): Folder of photos, searched recursively.
        out_dir (str): Where the outputs go.
        batch_size (int): Photos per forward pass. Defaults to 16.
        num_workers (int): Data-loader processes decoding photos.
            Defaults to 2.
        shard (tuple[int, int]): ``(index, count)``: do only the photos of
            share ``index`` of ``count``. Defaults to (0, 1), all.
        progress (bool): Show a progress bar (first process only).
            Defaults to True.

    Returns:
        dict: Over every process of the launch: ``done`` and ``skipped``
        (relative paths), ``failed`` (relative path to error message),
        ``seconds`` (the slowest process's time for decoding, model and
        writing), ``processes``, and ``report`` (what
        :func:`write_folder_report` wrote; None on other processes than
        the first).
    """
    check_folders(in_dir, out_dir)
    index, count = shard
    if not 0 <= index < count:
        raise UsageError(f'shard {index}/{count}: the index must be in 0 '
                         f'to {count - 1}')
    rank, world_size = get_dist_info()
    outputs = FolderOutputs(in_dir, out_dir)
    todo, skipped = photos_to_do(outputs, shard, rank, world_size)

    start = time.perf_counter()
    done, failed = _segment_photos(model, outputs, todo, batch_size,
                                   num_workers, progress and rank == 0)
    summary = _gather(
        dict(
            done=done,
            skipped=skipped,
            failed=failed,
            seconds=time.perf_counter() - start), world_size)

    # _gather waited for every process of the launch; the first then
    # writes the folder-wide files from every share's journal while the
    # others wait, so none returns before they exist.
    summary['report'] = write_folder_report(outputs) if rank == 0 else None
    barrier()
    return summary


def _segment_photos(model: torch.nn.Module, outputs: FolderOutputs,
                    todo: Sequence[str], batch_size: int, num_workers: int,
                    progress: bool) -> Tuple[List[str], Dict[str, str]]:
    """Segment ``todo``, writing each photo's files, then its journal line.

    Returns:
        tuple[list[str], dict[str, str]]: The photos done, and the failed
        ones with the decoder's error.
    """
    done, failed = [], {}
    if not todo:
        return done, failed
    bar = ProgressBar(len(todo), file=sys.stderr) if progress else None
    with Journal(outputs.out_dir) as journal:
        for sample, prediction in predict_photos(
                model, [osp.join(outputs.in_dir, r) for r in todo],
                batch_size, num_workers, keep_photo=True):
            rel = todo[sample['index']]
            if prediction is None:
                failed[rel] = sample['error']
                journal.write(
                    dict(photo=rel, status='failed', error=sample['error']))
            else:
                mask = prediction.pred_sem_seg.data[0].cpu().numpy().astype(
                    np.uint8)
                outputs.write_photo(rel, sample['photo'], mask)
                journal.write(
                    photo_record(rel, object_probability_map(prediction),
                                 mask))
                done.append(rel)
            if bar is not None:
                bar.update()
    if bar is not None:
        sys.stderr.write('\n')
    return done, failed


def _gather(summary: dict, world_size: int) -> dict:
    """Every process's summary merged (the same on every process)."""
    parts = all_gather_object(summary) if world_size > 1 else [summary]
    return dict(
        done=sorted(r for p in parts for r in p['done']),
        skipped=sorted(r for p in parts for r in p['skipped']),
        failed=dict(sorted((k, v) for p in parts
                           for k, v in p['failed'].items())),
        seconds=max(p['seconds'] for p in parts),
        processes=len(parts))
