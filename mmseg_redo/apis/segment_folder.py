"""Segment every photo under a folder: masks, cut-outs, scores, a review page.

For each image under ``in_dir`` (searched recursively; .jpg .jpeg .png
.bmp .webp .tif .tiff in any case; hidden files and folders, such as
macOS' ``._*`` companions, left out), written under ``out_dir`` with the
image's relative path and a ``.png`` suffix (see :func:`output_names`):

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
"""
import csv
import io
import json
import os
import os.path as osp
import socket
import sys
import time
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
import torch
from mmengine.dist import all_gather_object, barrier, get_dist_info
from mmengine.utils import ProgressBar
from mmseg.apis import init_model

from ..datasets.image_folder import (IMAGE_SUFFIXES, find_images,
                                     output_names, path_rank)
from ..evaluation.mask_quality import (FLAGS, photo_measures, quality_flags,
                                       quality_score)
from ..utils.file_io import write_bytes_whole
from ..visualization.mask_overlay import contact_sheet, overlay_thumbnail
from ..visualization.review_page import write_review_page
from .inference import object_probability_map, predict_photos

#: Photos on the contact sheet at most.
CONTACT_SHEET_MAX = 64
#: Longer side of the review thumbnails, in pixels.
THUMB_SIZE = 160
#: The measures written per photo, in column order.
MEASURES = ('confidence', 'area', 'border_share', 'border_mass',
            'largest_share')
#: Folder of the per-process journals, inside ``out_dir``.
JOURNAL_DIR = '.journal'


class UsageError(ValueError):
    """Bad input to the folder tools; the message names the file and the
    fix."""


def list_images(in_dir: str) -> List[str]:
    """Image paths under ``in_dir``, relative to it, sorted.

    The images ``ImageFolderDataset`` trains on
    (:func:`~mmseg_redo.datasets.image_folder.find_images`).

    Args:
        in_dir (str): The folder, searched recursively.

    Returns:
        list[str]: Paths relative to ``in_dir``.
    """
    return [osp.relpath(path, in_dir) for path in find_images(in_dir)]


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


def share_of(rel_path: str, num_shares: int, num_processes: int = 1
             ) -> Tuple[int, int]:
    """The share (0 to ``num_shares - 1``) a photo belongs to, and the
    process (0 to ``num_processes - 1``) that segments it within its share.

    From the SHA-1 of its path inside the folder, so every process and
    machine agrees on it whatever order it lists the files in, adding
    photos moves none of the others, and a share holds the same photos
    however many processes a run of it launches.
    """
    number = int(path_rank(rel_path)[:8], 16)
    return number % num_shares, number // num_shares % num_processes


def cutout(photo: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """BGRA photo whose alpha is the mask (255 = object)."""
    return np.dstack([photo, mask * np.uint8(255)])


def encode(image: np.ndarray, suffix: str) -> bytes:
    """``image`` encoded by OpenCV as ``suffix`` ('.png', '.jpg')."""
    ok, data = cv2.imencode(suffix, image)
    if not ok:
        raise OSError(f'OpenCV could not encode an image as {suffix}')
    return data.tobytes()


class FolderOutputs:
    """Where the outputs of a folder's photos go, and what is finished.

    Args:
        in_dir (str): The photo folder.
        out_dir (str): The output folder.
    """

    def __init__(self, in_dir: str, out_dir: str) -> None:
        self.in_dir = in_dir
        self.out_dir = out_dir
        self.rel_paths = list_images(in_dir)
        self.names = output_names(self.rel_paths)

    def mask(self, rel: str) -> str:
        """The mask's path, relative to ``out_dir``."""
        return osp.join('masks', self.names[rel])

    def cutout(self, rel: str) -> str:
        """The cut-out's path, relative to ``out_dir``."""
        return osp.join('cutouts', self.names[rel])

    def thumb(self, rel: str) -> str:
        """The thumbnail's path, relative to ``out_dir``."""
        return osp.join('thumbs', osp.splitext(self.names[rel])[0] + '.jpg')

    def files_exist(self, rel: str) -> bool:
        """Whether the photo's mask, cut-out and thumbnail all exist."""
        return all(
            osp.isfile(osp.join(self.out_dir, path))
            for path in (self.mask(rel), self.cutout(rel), self.thumb(rel)))

    def read_journals(self) -> Dict[str, dict]:
        """The newest journal record of every photo, by relative path.

        A line cut short by a killed process is not valid JSON and is
        skipped: its photo counts as not done.
        """
        records = {}
        folder = osp.join(self.out_dir, JOURNAL_DIR)
        if not osp.isdir(folder):
            return records
        lines = []
        for name in os.listdir(folder):
            with open(osp.join(folder, name), encoding='utf-8') as f:
                lines += f.read().splitlines()
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            old = records.get(record['photo'])
            if old is None or record['time'] >= old['time']:
                records[record['photo']] = record
        return records

    def finished(self, records: Dict[str, dict]) -> List[str]:
        """Photos done before: files written and measures journaled."""
        return [
            rel for rel in self.rel_paths
            if records.get(rel, {}).get('status') == 'done'
            and self.files_exist(rel)
        ]


class Journal:
    """One process's append-only record of the photos it finished.

    One JSON line per photo, flushed once the photo's files are written;
    a new file per run and process, so writers never share a file.

    Args:
        out_dir (str): The output folder.
    """

    def __init__(self, out_dir: str) -> None:
        folder = osp.join(out_dir, JOURNAL_DIR)
        os.makedirs(folder, exist_ok=True)
        name = (f'{socket.gethostname()}-{os.getpid()}-'
                f'{time.time_ns()}.jsonl')
        self.file = open(osp.join(folder, name), 'a', encoding='utf-8')

    def write(self, record: dict) -> None:
        """Append ``record`` (with the time) as one line."""
        record = dict(record, time=time.time())
        self.file.write(json.dumps(record, ensure_ascii=False) + '\n')
        self.file.flush()

    def close(self) -> None:
        """Close the file."""
        self.file.close()


def photo_record(rel: str, photo: np.ndarray, prob: np.ndarray,
                 mask: np.ndarray, outputs: FolderOutputs) -> dict:
    """Write one photo's mask, cut-out and thumbnail; return its record."""
    out_dir = outputs.out_dir
    write_bytes_whole(
        osp.join(out_dir, outputs.mask(rel)), encode(mask * np.uint8(255),
                                                     '.png'))
    write_bytes_whole(
        osp.join(out_dir, outputs.cutout(rel)),
        encode(cutout(photo, mask), '.png'))
    write_bytes_whole(
        osp.join(out_dir, outputs.thumb(rel)),
        encode(overlay_thumbnail(photo, mask, THUMB_SIZE), '.jpg'))
    measures = photo_measures(
        torch.from_numpy(prob), torch.from_numpy(mask.astype(bool)))
    return dict(
        photo=rel, status='done', **{name: measures[name]
                                      for name in MEASURES})


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
    rank, world_size = get_dist_info()
    index, count = shard
    if not 0 <= index < count:
        raise UsageError(f'shard {index}/{count}: the index must be in 0 '
                         f'to {count - 1}')
    outputs = FolderOutputs(in_dir, out_dir)
    mine = [
        r for r in outputs.rel_paths
        if share_of(r, count, world_size) == (index, rank)
    ]
    finished = set(outputs.finished(outputs.read_journals()))
    skipped = [r for r in mine if r in finished]
    todo = [r for r in mine if r not in finished]
    done, failed = [], {}

    start = time.perf_counter()
    if todo:
        journal = Journal(out_dir)
        bar = ProgressBar(len(todo), file=sys.stderr) if (
            progress and rank == 0) else None
        try:
            for sample, prediction in predict_photos(
                    model, [osp.join(in_dir, r) for r in todo], batch_size,
                    num_workers, keep_photo=True):
                rel = todo[sample['index']]
                if prediction is None:
                    failed[rel] = sample['error']
                    journal.write(
                        dict(photo=rel, status='failed',
                             error=sample['error']))
                else:
                    mask = prediction.pred_sem_seg.data[0].cpu().numpy()
                    journal.write(
                        photo_record(rel, sample['photo'],
                                     object_probability_map(prediction),
                                     mask.astype(np.uint8), outputs))
                    done.append(rel)
                if bar is not None:
                    bar.update()
        finally:
            journal.close()
        if bar is not None:
            sys.stderr.write('\n')
    summary = dict(
        done=done,
        skipped=skipped,
        failed=failed,
        seconds=time.perf_counter() - start)

    summary = _gather(summary, world_size)
    summary['report'] = write_folder_report(outputs) if rank == 0 else None
    barrier()
    return summary


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


def write_folder_report(outputs: FolderOutputs) -> dict:
    """Write ``scores.csv``, ``index.html`` and ``contact_sheet.png``.

    From the journals: every photo finished so far, by any process or run,
    and the photos whose last attempt failed.

    Returns:
        dict: Paths written (None where there was nothing to show), and the
        number of photos ``finished`` and ``shown`` on the contact sheet.
    """
    out_dir = outputs.out_dir
    records = outputs.read_journals()
    finished = outputs.finished(records)
    failed = [
        records[r] for r in outputs.rel_paths
        if records.get(r, {}).get('status') == 'failed'
    ]
    rows = sorted(scored(records[r] for r in finished),
                  key=lambda rec: (rec['score'], rec['photo']))
    scores_path = osp.join(out_dir, 'scores.csv')
    write_bytes_whole(scores_path,
                      scores_csv(rows, failed, outputs).encode('utf-8'))

    report = dict(
        scores=scores_path,
        index=None,
        contact_sheet=None,
        finished=len(finished),
        shown=0)
    if not rows:
        return report
    report['index'] = write_review_page(
        out_dir, [review_row(rec, outputs) for rec in rows],
        FLAGS,
        title=f'{len(rows)} masks of {osp.abspath(outputs.in_dir)}')
    on_sheet = finished[:CONTACT_SHEET_MAX]
    thumbs = [
        mmcv.imread(osp.join(out_dir, outputs.thumb(r))) for r in on_sheet
    ]
    sheet_path = osp.join(out_dir, 'contact_sheet.png')
    write_bytes_whole(sheet_path, encode(contact_sheet(thumbs, on_sheet),
                                         '.png'))
    report.update(contact_sheet=sheet_path, shown=len(on_sheet))
    return report


def scored(records: Iterable[dict]) -> List[dict]:
    """Finished photos' records with their quality ``score`` and ``flags``.

    Both compare each mask with the folder's median object area, so they
    are computed here, from every photo finished so far, not per photo.
    """
    records = list(records)
    median_area = float(np.median([rec['area'] for rec in records])) \
        if records else 0.0
    return [
        dict(rec,
             score=quality_score(rec, median_area),
             flags=quality_flags(rec, median_area)) for rec in records
    ]


def scores_csv(rows: Sequence[dict], failed: Sequence[dict],
               outputs: FolderOutputs) -> str:
    """The text of ``scores.csv``: finished photos worst first, then the
    failed ones, one column per flag (1 = raised) for spreadsheet filters.
    """
    text = io.StringIO()
    writer = csv.writer(text, lineterminator='\n')
    writer.writerow(('photo', 'score') + MEASURES + FLAGS +
                    ('flags', 'mask', 'cutout', 'error'))
    for rec in rows:
        writer.writerow([rec['photo'], f'{rec["score"]:.4f}'] +
                        [f'{rec[m]:.4f}' for m in MEASURES] +
                        [int(flag in rec['flags']) for flag in FLAGS] + [
                            ' '.join(rec['flags']),
                            outputs.mask(rec['photo']),
                            outputs.cutout(rec['photo']), ''
                        ])
    for rec in failed:
        writer.writerow([rec['photo']] + [''] *
                        (1 + len(MEASURES) + len(FLAGS) + 3) +
                        [rec['error']])
    return text.getvalue()


def review_row(record: dict, outputs: FolderOutputs) -> dict:
    """One photo of the review page (paths relative to ``out_dir``)."""
    rel = record['photo']
    return dict(
        name=rel,
        thumb=outputs.thumb(rel),
        mask=outputs.mask(rel),
        cutout=outputs.cutout(rel),
        photo=osp.relpath(
            osp.abspath(osp.join(outputs.in_dir, rel)),
            osp.abspath(outputs.out_dir)),
        score=record['score'],
        measures={m: record[m]
                  for m in MEASURES},
        flags=record['flags'])
